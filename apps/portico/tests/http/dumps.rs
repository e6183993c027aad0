//! `portico dump` and `portico restore` as an operator runs them: a zstd
//! dump of one SQLite data folder restored into another; a second restore
//! refused because the stores are not empty; a truncated dump and one of
//! a newer format refused before anything is written; SQLite's own
//! snapshot.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::cli::portico;

fn folder() -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("portico-dumps-{}", uuid::Uuid::new_v4().simple()))
        .join("data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(data: &Path, args: &[&str]) -> Output {
    portico(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dump_and_restore_move_a_data_folder_and_refuse_what_they_cannot_load() {
    let source = folder();
    let out = run(
        &source,
        &[
            "admin",
            "create",
            "--email",
            "ops@example.org",
            "--username",
            "ops",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A zstd dump, written under its name only when complete.
    let zst = source.parent().unwrap().join("all.jsonl.zst");
    let out = run(&source, &["dump", "--out", zst.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("dumped") && said.contains("user 1"), "{said}");
    let bytes = std::fs::read(&zst).unwrap();
    assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd frame");
    assert!(!zst.with_extension("zst.partial").exists());

    // Restored into a fresh folder: the account is there.
    let target = folder();
    let out = run(&target, &["restore", zst.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("restored") && said.contains("user 1"),
        "{said}"
    );

    // Again: the stores are not empty, and the message says what is there.
    let out = run(&target, &["restore", zst.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("not empty") && said.contains("1 users"),
        "{said}"
    );

    // Plain JSON lines on standard output.
    let out = run(&source, &["dump"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("\"format\":\"portico-dump\""),
        "{}",
        lines[0]
    );
    assert!(lines.last().unwrap().starts_with("{\"end\""), "{text}");

    // Cut short: refused, and nothing was written (a full restore into the
    // same folder then succeeds).
    let fresh = folder();
    let cut = fresh.parent().unwrap().join("cut.jsonl");
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n")).unwrap();
    let out = run(&fresh, &["restore", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("truncated") && said.contains("nothing was written"),
        "{said}"
    );

    // A newer format: refused with the version it found.
    let newer = fresh.parent().unwrap().join("newer.jsonl");
    let header = lines[0].replace("\"version\":1", "\"version\":2");
    let mut changed = vec![header.as_str()];
    changed.extend(&lines[1..]);
    std::fs::write(&newer, changed.join("\n")).unwrap();
    let out = run(&fresh, &["restore", newer.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("format version 2"), "{said}");

    let full = fresh.parent().unwrap().join("full.jsonl");
    std::fs::write(&full, &text).unwrap();
    let out = run(&fresh, &["restore", full.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    // SQLite's own snapshot: a database file that serves as it is.
    let snap = source.parent().unwrap().join("snap.db");
    let out = run(&source, &["snapshot", "--out", snap.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&source, &["snapshot", "--out", snap.to_str().unwrap()]);
    assert!(!out.status.success() && stderr(&out).contains("exists"));
    let copy = folder();
    std::fs::copy(&snap, copy.join("portico.db")).unwrap();
    let out = run(&copy, &["dump"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("user 1"), "{}", stderr(&out));

    for dir in [source, target, fresh, copy] {
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }
}
