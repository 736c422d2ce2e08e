//! A private PostgreSQL for tests: one throw-away cluster per test process,
//! started by the harness in a temporary directory, and a fresh database per
//! test. No system service, no mocks.
//!
//! - The binaries are Debian's `postgresql` package (`scripts/setup` installs
//!   it): the newest `/usr/lib/postgresql/<N>/bin`, or `$BATON_PG_BIN`.
//! - PostgreSQL refuses to run as root. When the tests run as root, `initdb`
//!   and the server run as the `postgres` user the package creates, through
//!   `setpriv` (util-linux).
//! - The server is a direct child of the test process (not `pg_ctl`), started
//!   with a parent-death signal: it gets SIGQUIT (immediate shutdown) when the
//!   test process ends, however it ends, even by SIGKILL. Nothing has to stop
//!   it; on a normal exit the harness also stops it and removes its directory.
//!   The signal follows the *thread* that spawned the server, so the server is
//!   spawned from a thread that lives as long as the process, never from a
//!   test's thread.
//! - nextest runs every test in a process of its own, so every such process
//!   starts its own cluster, on a port of its own (a port another process took
//!   first makes the server exit; it is then started again on another port).
//!
//! Measured on the 2-core development machine (PostgreSQL 15, /tmp on disk):
//! `initdb --no-sync` 0.6 s on an idle machine, 1.0–1.1 s with the other core
//! busy; the server then accepts connections within 0.05–0.08 s; `shared()`
//! took 1.2–1.4 s in all (loaded). `CREATE DATABASE` (through psql) 0.09 s
//! idle, 0.2–0.27 s loaded (FILE_COPY is no faster); `DROP DATABASE` 0.03 s.
//! Under nextest (a process per test, two at a time) a test that creates two
//! databases took 2.6–3.1 s while another job kept one core busy.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The OS user PostgreSQL runs as when the tests run as root.
const PG_USER: &str = "postgres";
/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running PostgreSQL cluster in a temporary directory.
pub struct Postgres {
    /// Holds the data directory (`pg/`), the Unix socket and the server log.
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    server: Mutex<Child>,
}

static SHARED: OnceLock<Postgres> = OnceLock::new();
static DURABLE: OnceLock<Postgres> = OnceLock::new();
static TLS: OnceLock<Postgres> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

impl Postgres {
    /// The cluster of this test process, started on first use.
    pub fn shared() -> &'static Postgres {
        SHARED.get_or_init(|| {
            let pg = Postgres::start(false, false);
            // SAFETY: registers a plain `extern "C" fn` with the C runtime.
            unsafe { libc::atexit(stop_shared) };
            pg
        })
    }

    /// A cluster of this process that, unlike [`Postgres::shared`], keeps
    /// PostgreSQL's durability settings (fsync, synchronous commit, full
    /// pages): benchmarks compare it with SQLite's `synchronous=FULL`.
    pub fn durable() -> &'static Postgres {
        DURABLE.get_or_init(|| {
            let pg = Postgres::start(true, false);
            // SAFETY: registers a plain `extern "C" fn` with the C runtime.
            unsafe { libc::atexit(stop_durable) };
            pg
        })
    }

    /// A cluster of this process that takes connections over TLS only
    /// (`hostssl` in pg_hba.conf; plain TCP is rejected), with a server
    /// certificate for 127.0.0.1 and localhost signed by a CA of its own:
    /// [`Postgres::root_cert`].
    pub fn with_tls() -> &'static Postgres {
        TLS.get_or_init(|| {
            let pg = Postgres::start(false, true);
            // SAFETY: registers a plain `extern "C" fn` with the C runtime.
            unsafe { libc::atexit(stop_tls) };
            pg
        })
    }

    /// The CA certificate that signed a [`Postgres::with_tls`] cluster's
    /// server certificate.
    pub fn root_cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start(durable: bool, tls: bool) -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("baton-pg-")
            .tempdir()
            .expect("temp dir");
        // The postgres user creates the data directory and the socket here.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777))
            .expect("chmod the cluster's temp dir");
        let data = dir.path().join("pg");
        let out = as_pg_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run initdb (through setpriv when root): {e}"));
        assert!(
            out.status.success(),
            "initdb failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if tls {
            make_certificates(dir.path(), &data);
        }
        let log_path = dir.path().join("postgres.log");
        for _attempt in 0..5 {
            let port = free_port();
            let logged_before = fs::metadata(&log_path).map_or(0, |m| m.len() as usize);
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .expect("server log");
            let mut cmd = server_command(&bin.join("postgres"));
            cmd.arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(dir.path())
                .args(["-c", "listen_addresses=127.0.0.1"]);
            // Extra settings for a run, e.g. to profile the benchmark:
            // BATON_TEST_PG_SETTINGS="shared_preload_libraries=pg_stat_statements".
            if let Ok(extra) = std::env::var("BATON_TEST_PG_SETTINGS") {
                for setting in extra.split_whitespace() {
                    cmd.args(["-c", setting]);
                }
            }
            if tls {
                cmd.args(["-c", "ssl=on"])
                    .args(["-c", "ssl_cert_file=server.pem"])
                    .args(["-c", "ssl_key_file=server.key"]);
            }
            if !durable {
                // A test cluster need not survive a crash of the machine:
                // no fsync, no waiting for the WAL to reach the disk.
                cmd.args(["-c", "fsync=off"])
                    .args(["-c", "synchronous_commit=off"])
                    .args(["-c", "full_page_writes=off"]);
            }
            cmd.stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().expect("server log")))
                .stderr(Stdio::from(log));
            let mut child = spawn_from_lasting_thread(cmd).unwrap_or_else(|e| {
                panic!("could not start postgres (through setpriv when root): {e}")
            });
            match wait_ready(&bin, dir.path(), port, &mut child) {
                Ok(()) => {
                    return Postgres {
                        dir,
                        port,
                        bin,
                        server: Mutex::new(child),
                    };
                }
                Err(Some(_))
                    if fs::read(&log_path).is_ok_and(|log| {
                        String::from_utf8_lossy(log.get(logged_before..).unwrap_or_default())
                            .contains("could not bind")
                    }) =>
                {
                    // Another process took the port first: try another one.
                    continue;
                }
                Err(status) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let why = match status {
                        Some(status) => format!("it exited ({status})"),
                        None => format!("not within {READY_WITHIN:?}"),
                    };
                    panic!(
                        "postgres did not accept connections: {why}; its log:\n{}",
                        log_tail(&log_path)
                    );
                }
            }
        }
        panic!(
            "postgres found no free port in 5 attempts; its log:\n{}",
            log_tail(&log_path)
        );
    }

    /// A fresh, empty database; dropped again when the value is dropped.
    /// Runs SQL in the cluster's `postgres` database (psql -At).
    pub fn psql_admin(&self, sql: &str) -> String {
        psql(&self.bin, self.port, "postgres", sql)
            .unwrap_or_else(|e| panic!("psql failed for {sql:?}:\n{e}"))
    }

    pub fn database(&self) -> PgDatabase {
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("t_{n}_{}", std::process::id());
        if let Err(e) = psql(
            &self.bin,
            self.port,
            "postgres",
            &format!("CREATE DATABASE {name}"),
        ) {
            panic!(
                "CREATE DATABASE {name} failed: {e}\nserver log:\n{}",
                self.log()
            );
        }
        PgDatabase {
            url: format!("postgres://postgres@127.0.0.1:{}/{name}", self.port),
            name,
            port: self.port,
            bin: self.bin.clone(),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory (`<temp dir>/pg`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    /// The directory of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The PostgreSQL binaries used (`initdb`, `postgres`, `psql`, …).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

/// A database of its own for one test, in the shared cluster.
pub struct PgDatabase {
    name: String,
    url: String,
    port: u16,
    bin: PathBuf,
}

impl PgDatabase {
    /// `postgres://postgres@127.0.0.1:<port>/<name>` (trust authentication).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL with `psql -At` (unaligned, tuples only) and returns its
    /// output without the trailing newline; panics with psql's errors.
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.bin, self.port, &self.name, sql)
            .unwrap_or_else(|e| panic!("psql on {} failed for {sql:?}:\n{e}", self.name))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.bin,
            self.port,
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs `sql` in database `db`; returns stdout, or stderr on failure.
fn psql(bin: &Path, port: u16, db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new(bin.join("psql"))
        .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .arg("-p")
        .arg(port.to_string())
        .args(["-U", "postgres", "-d", db, "-c", sql])
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env_remove("PGOPTIONS")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run psql: {e}"))?;
    if out.status.success() {
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.truncate(s.trim_end_matches('\n').len());
        Ok(s)
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

/// The newest `/usr/lib/postgresql/<N>/bin`, or `$BATON_PG_BIN`.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BATON_PG_BIN") {
        return PathBuf::from(dir);
    }
    let newest = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL under /usr/lib/postgresql/<N>/bin: install postgresql: run scripts/setup"
        ),
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn setpriv() -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={PG_USER}"))
        .arg(format!("--regid={PG_USER}"))
        .arg("--init-groups");
    cmd
}

/// `program`, as the postgres user when running as root.
fn as_pg_user(program: &Path) -> Command {
    if running_as_root() {
        let mut cmd = setpriv();
        cmd.arg("--").arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// The server, set to get SIGQUIT when the thread that spawns it ends.
fn server_command(postgres: &Path) -> Command {
    if running_as_root() {
        // setpriv sets the signal after changing the user (a change of user
        // clears it), then execs postgres, which keeps it.
        let mut cmd = setpriv();
        cmd.arg("--pdeathsig=SIGQUIT").arg("--").arg(postgres);
        cmd
    } else {
        let parent = std::process::id() as libc::pid_t;
        let mut cmd = Command::new(postgres);
        // SAFETY: prctl and getppid are async-signal-safe; nothing allocates.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before the signal was set.
                if libc::getppid() != parent {
                    return Err(io::Error::other("the test process is gone"));
                }
                Ok(())
            });
        }
        cmd
    }
}

/// Spawns `cmd` from a thread that never ends: the parent-death signal is
/// sent when the spawning thread ends, and a test's thread ends with its test.
fn spawn_from_lasting_thread(mut cmd: Command) -> io::Result<Child> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-parent".into())
        .spawn(move || {
            let spawned = cmd.spawn();
            let keep = spawned.is_ok();
            let _ = tx.send(spawned);
            if keep {
                loop {
                    std::thread::park();
                }
            }
        })
        .expect("spawn the postgres parent thread");
    rx.recv().expect("postgres parent thread")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// Waits until the server accepts connections on its Unix socket (its own
/// directory: this cannot be another process's server; the TCP port is bound
/// before the socket). `Err(exit status)` if it exits or does not get ready.
fn wait_ready(
    bin: &Path,
    socket_dir: &Path,
    port: u16,
    child: &mut Child,
) -> Result<(), Option<ExitStatus>> {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Some(status));
        }
        let ready = Command::new(bin.join("pg_isready"))
            .arg("-q")
            .arg("-h")
            .arg(socket_dir)
            .arg("-p")
            .arg(port.to_string())
            .args(["-t", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_tail(path: &Path) -> String {
    let log = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// At a normal exit: stop the shared cluster (immediate shutdown) and remove
/// its directory. Without this the parent-death signal still stops it, but
/// the directory would stay behind.
extern "C" fn stop_shared() {
    stop_cluster(&SHARED);
}

extern "C" fn stop_durable() {
    stop_cluster(&DURABLE);
}

extern "C" fn stop_tls() {
    stop_cluster(&TLS);
}

/// A CA and a server certificate it signed (for 127.0.0.1 and localhost)
/// made with openssl; the server's key and certificate go into the data
/// directory, owned by the server's user, and TCP connections must use TLS.
fn make_certificates(dir: &Path, data: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("run openssl (installed by scripts/setup)");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Baton test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write the certificate's extensions");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    for file in ["server.pem", "server.key"] {
        let to = data.join(file);
        fs::copy(dir.join(file), &to).expect("copy the server's certificate");
        fs::set_permissions(&to, fs::Permissions::from_mode(0o600)).expect("chmod");
        if running_as_root() {
            let status = Command::new("chown")
                .arg(format!("{PG_USER}:{PG_USER}"))
                .arg(&to)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown {} failed", to.display());
        }
    }
    // TCP only with TLS; the harness's own psql uses TCP too (with TLS, as
    // libpq prefers it).
    fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
         hostnossl all all 127.0.0.1/32 reject\n",
    )
    .expect("write pg_hba.conf");
}

fn stop_cluster(cluster: &OnceLock<Postgres>) {
    let Some(pg) = cluster.get() else { return };
    let Ok(mut child) = pg.server.try_lock() else {
        return;
    };
    if let Ok(None) = child.try_wait() {
        // SAFETY: signals our own child, which has not been reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGQUIT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(None) = child.try_wait() {
            if Instant::now() >= deadline {
                // Leave it to the parent-death signal; keep the directory.
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = fs::remove_dir_all(pg.dir.path());
}
