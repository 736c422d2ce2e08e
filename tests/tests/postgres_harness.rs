//! The private PostgreSQL the harness starts for tests (tests/src/postgres.rs).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use baton_tests::postgres::Postgres;

#[test]
fn a_private_cluster_gives_each_test_its_own_database() {
    let pg = Postgres::shared();
    let a = pg.database();
    let b = pg.database();
    assert_ne!(a.name(), b.name());

    a.psql("CREATE TABLE leads (id bigint primary key, name text)");
    a.psql("INSERT INTO leads VALUES (1, 'Ada')");
    assert_eq!(a.psql("SELECT name FROM leads"), "Ada");
    assert_eq!(
        b.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'leads'"),
        "0"
    );

    // The URL is what a storage backend gets: it reaches the same database.
    let out = Command::new(pg.bin_dir().join("psql"))
        .arg(a.url())
        .args([
            "-X",
            "-At",
            "-c",
            "SELECT current_database() || ' ' || count(*) FROM leads",
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} 1", a.name())
    );

    // Dropping the handle drops the database.
    let name = a.name().to_string();
    drop(a);
    assert_eq!(
        b.psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        )),
        "0"
    );
}

#[test]
fn the_cluster_outlives_the_test_thread_that_started_it() {
    // The server gets SIGQUIT when the thread that spawned it ends; the
    // harness spawns it from a thread of its own, so this thread may end.
    std::thread::spawn(|| Postgres::shared().database().psql("SELECT 1"))
        .join()
        .expect("first use in a short-lived thread");
    std::thread::sleep(Duration::from_millis(300));
    let db = Postgres::shared().database();
    assert_eq!(db.psql("SELECT 2"), "2");
}

#[test]
fn the_cluster_stops_when_the_test_process_ends() {
    let (mut child, data_dir, cluster) = start_child("exit");
    let mut rest = String::new();
    let _ = child.stdout.read_to_string(&mut rest);
    let status = child.process.wait().expect("wait for the child");
    assert!(status.success(), "the child test failed: {rest}");
    assert_cluster_gone(&data_dir, &cluster);
    assert!(
        !data_dir.exists(),
        "{} is left behind after a normal exit",
        data_dir.display()
    );
}

#[test]
fn the_cluster_stops_when_the_test_process_is_killed() {
    // SIGKILL: no exit handler runs; only the parent-death signal stops it.
    let (mut child, data_dir, cluster) = start_child("wait");
    child.process.kill().expect("SIGKILL the child");
    let _ = child.process.wait();
    assert_cluster_gone(&data_dir, &cluster);
    let _ = std::fs::remove_dir_all(data_dir.parent().expect("the cluster's temp dir"));
}

const CHILD_ENV: &str = "BATON_PG_HARNESS_CHILD";
const CHILD_TEST: &str = "child_process_starts_a_cluster_when_asked";
const DATA_DIR: &str = "data-dir\t";

/// Not a test of its own: the two tests above run this test binary again with
/// only this test, in a process of its own.
#[test]
fn child_process_starts_a_cluster_when_asked() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let pg = Postgres::shared();
    let db = pg.database();
    assert_eq!(db.psql("SELECT 1"), "1");
    println!("{DATA_DIR}{}", pg.data_dir().display());
    if mode == "wait" {
        // Until the parent kills us (bounded, in case it does not).
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// The child test process; killed (if still running) and reaped when dropped.
struct ChildTest {
    process: Child,
    stdout: BufReader<ChildStdout>,
}

impl Drop for ChildTest {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Runs the child test; returns it once it reports its cluster's data dir,
/// with the pids of the cluster's processes (the server and its children).
fn start_child(mode: &str) -> (ChildTest, PathBuf, Vec<u32>) {
    let mut process = Command::new(std::env::current_exe().expect("test executable"))
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the child test");
    let stdout = BufReader::new(process.stdout.take().expect("stdout"));
    let mut child = ChildTest { process, stdout };
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = child
            .stdout
            .read_line(&mut line)
            .expect("read the child's stdout");
        if n == 0 {
            let status = child.process.wait();
            panic!("the child ended ({status:?}) without a data dir:\n{seen}");
        }
        // libtest may have written "test … " on the same line first.
        if let Some(at) = line.find(DATA_DIR) {
            let dir = PathBuf::from(line[at + DATA_DIR.len()..].trim_end());
            let servers = processes_mentioning(&dir);
            assert!(
                !servers.is_empty(),
                "no process runs the child's cluster at {}",
                dir.display()
            );
            let mut pids: Vec<u32> = servers.iter().map(|(pid, _)| *pid).collect();
            pids.extend(children_of(&pids));
            return (child, dir, pids);
        }
        seen.push_str(&line);
    }
}

fn pids() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|pid| *pid != me)
        .collect()
}

/// `(pid, command line)` of live processes whose command line contains `needle`.
fn processes_mentioning(needle: &Path) -> Vec<(u32, String)> {
    let needle = needle.to_string_lossy().into_owned();
    pids()
        .into_iter()
        .filter(|pid| alive(*pid))
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmdline.contains(&needle).then_some((pid, cmdline))
        })
        .collect()
}

/// `/proc/<pid>/stat`: "pid (comm) state ppid …"; comm may hold spaces.
fn stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Running, not a zombie waiting to be reaped.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

fn children_of(parents: &[u32]) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|pid| stat(*pid).is_some_and(|(_, ppid)| parents.contains(&ppid)))
        .collect()
}

/// Within 10 s: no process mentions the data dir, and none of the cluster's
/// processes seen while it ran is alive.
fn assert_cluster_gone(data_dir: &Path, cluster: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left: Vec<String> = processes_mentioning(data_dir)
            .into_iter()
            .map(|(pid, cmdline)| format!("{pid} {cmdline}"))
            .collect();
        left.extend(
            cluster
                .iter()
                .filter(|pid| alive(**pid))
                .map(|pid| format!("{pid} (a process of the cluster)")),
        );
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after the test process ended:\n{}",
            left.join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
