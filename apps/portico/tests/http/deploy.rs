//! The deployment files in `deploy/` hold: the systemd unit parses
//! (`systemd-analyze verify`, which also checks every hardening option's
//! name and value), and its `ExecStart` line is one the binary accepts.

use std::path::Path;
use std::process::Command;

fn unit() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/portico.service");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_systemd_unit_parses_and_names_flags_the_binary_takes() {
    let text = unit();
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/portico"));
    let args: Vec<&str> = words.collect();
    // The same arguments, asking for help: clap refuses a flag the command
    // does not take before it would print it.
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(&args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{exec}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The unit as installed, but with the binary of this build (verify
    // checks that the executable exists).
    let dir = std::env::temp_dir().join(format!("portico-unit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("portico.service");
    std::fs::write(
        &file,
        text.replace("/usr/local/bin/portico", env!("CARGO_BIN_EXE_portico")),
    )
    .unwrap();
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
    {
        Ok(out) => {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success() && said.trim().is_empty(), "{said}");
        }
        Err(_) => {
            // No systemd here: at least the syntax, section by section.
            eprintln!("systemd-analyze is missing: checking the unit's syntax only");
            let mut section = "";
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if line.starts_with('[') {
                    section = line;
                    assert!(
                        ["[Unit]", "[Service]", "[Install]"].contains(&line),
                        "{line}"
                    );
                    continue;
                }
                assert!(!section.is_empty(), "{line}: outside a section");
                let (key, _) = line
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{line}: not Key=Value"));
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{line}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
