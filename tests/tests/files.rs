//! A profile holds leads' personal data (the cache), the rep's token and
//! their settings: the directory is 0700 and every file in it 0600, for a
//! new profile and for one an older Baton left readable to other users.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use baton_tests::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// What in the profile other local users could read or enter: the
/// directory unless it is 0700, and every file with group or other bits.
fn exposed(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if mode(dir) != 0o700 {
        found.push(format!("the profile directory is {:o}", mode(dir)));
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if mode(&path) & 0o077 != 0 {
            found.push(format!(
                "{} is {:o}",
                path.file_name().unwrap().to_string_lossy(),
                mode(&path)
            ));
        }
    }
    found
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn profile_files_are_private_to_the_rep() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    let id = server.intake().push(&lead("files-1")).await.lead.id;
    let baton = Baton::new();
    let dir = baton.dir.path();
    baton.login(&server, &ava);
    baton.ok(&["sync"]);
    baton.ok(&["accept", &id.to_string()]);

    let present = names(dir);
    for expected in ["cache.db", "profile.json"] {
        assert!(present.iter().any(|n| n == expected), "{present:?}");
    }
    // The harness runs without a session bus: the token falls back to a file,
    // and the profile says why, in words and without the token.
    assert!(present.iter().any(|n| n == "token"), "{present:?}");
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("profile.json")).unwrap()).unwrap();
    assert_eq!(settings["token_store"], "file");
    let reason = settings["token_file_reason"].as_str().unwrap_or_default();
    assert!(!reason.is_empty(), "{settings:#}");
    assert!(!reason.contains(&ava.token), "{reason}");
    assert!(
        present.iter().all(|n| !n.ends_with(".tmp")),
        "no temporary file is left: {present:?}"
    );

    assert_eq!(exposed(dir), Vec::<String>::new(), "files: {present:?}");
}

#[tokio::test]
async fn a_profile_left_readable_by_an_older_baton_is_tightened() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 100);
    server.intake().push(&lead("files-2")).await;
    let baton = Baton::new();
    let dir = baton.dir.path();
    let loosen = |path: &Path, m: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap()
    };

    // Signing in makes the directory private.
    loosen(dir, 0o755);
    baton.login(&server, &ava);
    assert_eq!(mode(dir), 0o700);
    baton.ok(&["sync"]);

    // As an older Baton left it: a 0755 directory, a 0644 cache.
    loosen(dir, 0o755);
    for f in ["cache.db", "cache.db-wal", "cache.db-shm"] {
        let path = dir.join(f);
        if path.exists() {
            loosen(&path, 0o644);
        }
    }
    server.intake().push(&lead("files-3")).await;
    let out = baton.ok(&["sync"]);
    assert!(out.contains("1 new leads"), "{out}");
    assert_eq!(
        exposed(dir),
        Vec::<String>::new(),
        "files: {:?}",
        names(dir)
    );
}
