//! The documentation, held to what it says: every shell block marked
//! `<!-- walk-through -->` in the README and in `docs/` runs verbatim, as
//! pasted into a terminal, against a fresh `portico serve` with no
//! configuration, in a folder of its own. A page in `docs/` continues the
//! README's shell, so its run is the README's blocks, then its own.
//!
//! The blocks name `localhost:8080`: each run gets a private network
//! (`unshare -rn`, a user and network namespace, loopback only), so the
//! address is free whatever else runs on the machine. Without namespaces
//! the run falls back to a free port, written into the blocks in place of
//! 8080 (and says so).
//!
//! What counts as a failure: any command that exits non-zero, including
//! any `curl` whose answer is an HTTP error (the harness adds
//! `--fail-with-body` to every curl call, so the problem is printed), and
//! a page's expected words missing from the output. Also here: every
//! relative link in the Markdown files resolves.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The walk-through blocks of a Markdown file, in order.
fn blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "<!-- walk-through -->" {
            continue;
        }
        let fence = lines
            .by_ref()
            .find(|l| !l.trim().is_empty())
            .expect("a code block after the marker");
        assert!(
            fence.starts_with("```sh") || fence.starts_with("```bash"),
            "a walk-through is a sh block: {fence}"
        );
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        out.push(body.join("\n"));
    }
    out
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether this machine gives an unprivileged process a private network.
fn namespaces() -> bool {
    Command::new("unshare")
        .args(["-rn", "ip", "link", "set", "lo", "up"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the README's blocks, then `page`'s, against a fresh server, and
/// checks the output holds `expected`.
fn run(page: Option<&str>, expected: &[&str]) {
    let mut script = blocks(&read("README.md"));
    assert!(!script.is_empty(), "the README has a walk-through");
    if let Some(page) = page {
        let own = blocks(&read(page));
        assert!(!own.is_empty(), "{page} has a walk-through");
        script.extend(own);
    }
    let dir = std::env::temp_dir().join(format!("portico-walk-{}", uuid::Uuid::new_v4().simple()));
    let release = dir.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    // As after `make run`: ./target/release/portico, the server's binary.
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_portico"), release.join("portico")).unwrap();
    let private = namespaces();
    let port = if private {
        8080
    } else {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    let mut text = script.join("\n\n");
    if !private {
        eprintln!("walk-through: no private network (unshare -rn); using port {port}");
        text = text.replace("localhost:8080", &format!("localhost:{port}"));
    }
    let harness = format!(
        r#"set -o pipefail
failures=0
curl() {{ command curl --fail-with-body "$@"; }}
ip link set lo up 2>/dev/null
./target/release/portico serve --listen 127.0.0.1:{port} >server.log 2>&1 &
server=$!
for _ in $(seq 100); do command curl -fs localhost:{port}/readyz >/dev/null && break; sleep 0.1; done
trap 'echo "walk-through: FAILED (exit $?): $BASH_COMMAND" >&2; failures=$((failures + 1))' ERR
# ---- the blocks, verbatim ----
{text}
# ---- end ----
trap - ERR
sleep 0.5
kill $server; wait $server
echo "walk-through: $failures failure(s)"
exit $(( failures > 0 ))
"#
    );
    std::fs::write(dir.join("walk.sh"), &harness).unwrap();
    let mut cmd = if private {
        let mut c = Command::new("unshare");
        c.args(["-rn", "bash", "walk.sh"]);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg("walk.sh");
        c
    };
    // A newcomer's shell: no store URLs, no Portico settings.
    for (key, _) in std::env::vars() {
        if key.starts_with("PORTICO_") || key.ends_with("_URL") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.current_dir(&dir).output().expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let report = format!(
        "--- output ---\n{stdout}\n--- errors ---\n{stderr}\n--- server log (tail) ---\n{}",
        log.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(out.status.success(), "the walk-through failed\n{report}");
    assert!(stdout.contains("walk-through: 0 failure(s)"), "{report}");
    for words in expected {
        assert!(
            stdout.contains(words),
            "{words:?} not in the output\n{report}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_readme_walk_through_works_as_pasted() {
    run(
        None,
        &[
            "\"verified\": true",
            "\"username\": \"ann\"",
            "\"backup_codes_left\": 0",
        ],
    );
}

#[test]
fn the_two_step_walk_through_works_as_pasted() {
    run(
        Some("docs/two-step-sign-in.md"),
        &["\"backup_codes\": [", "\"totp\": true"],
    );
}

#[test]
fn the_content_walk_through_works_as_pasted() {
    run(
        Some("docs/content-and-more.md"),
        &[
            "\"Hello\"",
            "event: notification",
            "\"Your export is ready\"",
            "\"completed\"",
            "hello, world",
            "\"pending\"",
        ],
    );
}

#[test]
fn the_conversations_walk_through_works_as_pasted() {
    run(
        Some("docs/conversations.md"),
        &[
            "\"unread_count\": 1",
            "Yes!",
            "{\"content\":\"Yes!\",\"read_by\":0}",
            "{\"content\":\"Lunch at noon?\",\"read_by\":1}",
            "{\"deleted\":true,\"content\":null}",
            "urn:portico:problem:blocked",
        ],
    );
}

#[test]
fn the_email_sign_in_walk_through_works_as_pasted() {
    run(Some("docs/passwordless.md"), &["\"ann\"", "\"0"]);
}

#[test]
fn the_tokens_walk_through_works_as_pasted() {
    run(
        Some("docs/tokens.md"),
        &[
            "\"alg\": \"EdDSA\"",
            "\"crv\": \"Ed25519\"",
            "\"plan\": \"free\"",
            "urn:portico:problem:unauthenticated",
            "An API key cannot manage the account",
        ],
    );
}

/// Every page with a walk-through has its test above.
#[test]
fn every_walk_through_page_is_run() {
    let tested = [
        "docs/two-step-sign-in.md",
        "docs/content-and-more.md",
        "docs/passwordless.md",
        "docs/tokens.md",
        "docs/conversations.md",
    ];
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md")
            && !blocks(&std::fs::read_to_string(&path).unwrap()).is_empty()
        {
            found.push(format!(
                "docs/{}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    found.sort();
    let mut tested: Vec<String> = tested.iter().map(|s| (*s).to_owned()).collect();
    tested.sort();
    assert_eq!(found, tested);
}

/// The Markdown files a reader follows links in.
fn markdown_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "CONTRIBUTING.md",
        "CHANGELOG.md",
        "clients/typescript/README.md",
        "apps/README.md",
    ]
    .iter()
    .map(|p| root().join(p))
    .filter(|p| p.exists())
    .collect();
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

/// The anchors GitHub makes of a Markdown file's headings.
fn anchors(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut in_code = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if in_code {
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest.find("](") {
                rest = &rest[at + 2..];
                let Some(end) = rest.find(')') else { break };
                let target = &rest[..end];
                rest = &rest[end..];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
                let resolved = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap().join(path)
                };
                if !resolved.exists() {
                    broken.push(format!("{}: {target}", file.display()));
                    continue;
                }
                if !anchor.is_empty()
                    && resolved.extension().is_some_and(|e| e == "md")
                    && !anchors(&std::fs::read_to_string(&resolved).unwrap())
                        .iter()
                        .any(|a| a == anchor)
                {
                    broken.push(format!("{}: {target} (no such heading)", file.display()));
                }
            }
        }
    }
    assert!(checked > 30, "{checked} links");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
