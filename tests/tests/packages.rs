//! The packages `scripts/package` builds, installed on this machine the way
//! an IT department would: `apt-get install ./….deb`, then used, then
//! removed. Needs root (CI runs as root) and the packages in
//! target/packages (scripts/test builds them first).
//!
//! - The desktop app's .deb: its .desktop entry is valid and its Exec line
//!   opens a window titled Baton under Xvfb; the bundled `baton` CLI signs
//!   in; start at login points at the installed binary; the app, stamped
//!   as a .deb install, shows the newer release the real server announces
//!   with the .deb download; purging leaves nothing outside the profile.
//! - The .rpm declares the same dependencies and files (read with `rpm`).
//! - The server's .deb: its own user and data directory, a unit systemd
//!   accepts (`systemd-analyze verify`), started as the unit says, answers
//!   /healthz and keeps its data across a restart. This machine has no
//!   systemd running (no PID 1 service manager in the container), so the
//!   test starts the unit's ExecStart itself, as its User, with its
//!   EnvironmentFile and WorkingDirectory, and stops it with the unit's
//!   KillSignal, which is what `systemctl start`/`restart` would do.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_tests::bus::SessionBus;
use baton_tests::desktop::{Display, Driver};
use baton_tests::*;
use reqwest::StatusCode;

const WAIT: Duration = Duration::from_secs(30);

fn packages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/packages")
}

/// The one file in target/packages named `prefix…suffix`.
fn package(prefix: &str, suffix: &str) -> PathBuf {
    let dir = packages_dir();
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/package first", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {prefix}*{suffix} in {}: {found:?}; run scripts/package",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

/// Runs a command that must succeed; its stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn as_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "installing packages needs root (CI runs as root); run this suite as root"
    );
}

/// apt-get waits for dpkg's lock rather than failing: the desktop and
/// server tests install at the same time.
fn apt(args: &[&str]) -> String {
    run(Command::new("apt-get")
        .args(["-y", "-q", "-o", "DPkg::Lock::Timeout=300"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// The files (not directories) a package installed.
fn files_of(package: &str) -> Vec<PathBuf> {
    run(Command::new("dpkg").args(["-L", package]))
        .lines()
        .map(PathBuf::from)
        .filter(|p| !p.is_dir() && (p.is_file() || p.is_symlink()))
        .collect()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The proportional set size (PSS: shared pages split between the processes
/// sharing them) of a process and all its descendants (the app's WebKit web
/// and network processes), in bytes.
fn pss_of_tree(root: u32) -> u64 {
    let mut parents: BTreeMap<u32, u32> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // After the command's closing parenthesis: state, then ppid.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
                && let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok())
            {
                parents.insert(pid, ppid);
            }
        }
    }
    let in_tree = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parents.get(&pid) {
            Some(&p) if p != 0 && p != pid => pid = p,
            _ => return false,
        }
    };
    parents
        .keys()
        .filter(|&&pid| in_tree(pid))
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .sum::<u64>()
        * 1024
}

/// The top-level windows titled `title` on `display`, with their WM_CLASS
/// (instance, class) as xwininfo prints them.
fn windows_titled(display: &str, title: &str) -> Vec<String> {
    let out = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .env("DISPLAY", display)
        .output()
        .expect("xwininfo (Debian package x11-utils)");
    let wanted = format!("\"{title}\": (");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(&wanted).map(|(_, class)| class.to_string()))
        .collect()
}

/// A `[Desktop Entry]` key's value.
fn entry_value<'a>(desktop: &'a str, key: &str) -> &'a str {
    desktop
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the .desktop entry has no {key}=: {desktop}"))
}

/// Resolves a command name as a desktop's launcher would, through PATH.
fn on_path(program: &str) -> PathBuf {
    if program.starts_with('/') {
        return PathBuf::from(program);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

const DESKTOP_PACKAGE: &str = "baton";

#[tokio::test]
async fn the_desktop_package_installs_launches_announces_updates_and_leaves_nothing() {
    as_root();
    let deb = package("Baton_", "_amd64.deb");
    let rpm = package("Baton-", ".x86_64.rpm");
    if installed(DESKTOP_PACKAGE) {
        apt(&["purge", DESKTOP_PACKAGE]);
    }

    // What the package manager must pull, declared in both packages.
    let depends = run(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"));
    for lib in [
        "libwebkit2gtk-4.1-0",
        "libgtk-3-0",
        "libayatana-appindicator3-1",
    ] {
        assert!(
            depends.contains(lib),
            "the .deb does not depend on {lib}: {depends}"
        );
    }
    let requires = run(Command::new("rpm").arg("-qp").arg("--requires").arg(&rpm));
    for lib in [
        "libwebkit2gtk-4.1.so.0",
        "libgtk-3.so.0",
        "libayatana-appindicator3.so.1",
    ] {
        assert!(
            requires.contains(lib),
            "the .rpm does not require {lib}: {requires}"
        );
    }
    let rpm_files = run(Command::new("rpm").arg("-qlp").arg(&rpm));
    for f in [
        "/usr/bin/baton-desktop",
        "/usr/bin/baton",
        "/usr/share/applications/Baton.desktop",
    ] {
        assert!(
            rpm_files.lines().any(|l| l == f),
            "the .rpm lacks {f}: {rpm_files}"
        );
    }
    eprintln!(
        "package sizes: {} {}, {} {}",
        deb.file_name().unwrap().to_string_lossy(),
        mib(deb.metadata().unwrap().len()),
        rpm.file_name().unwrap().to_string_lossy(),
        mib(rpm.metadata().unwrap().len()),
    );

    apt(&["install", deb.to_str().unwrap()]);
    assert!(installed(DESKTOP_PACKAGE));
    let files = files_of(DESKTOP_PACKAGE);
    let installed_size: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    eprintln!("installed: {} files, {}", files.len(), mib(installed_size));

    // The icons at every size, and a .desktop entry that validates.
    for size in [16, 24, 32, 48, 64, 128, 256, 512] {
        let icon = format!("/usr/share/icons/hicolor/{size}x{size}/apps/baton-desktop.png");
        assert!(Path::new(&icon).is_file(), "{icon} is not installed");
    }
    let entry_path = Path::new("/usr/share/applications/Baton.desktop");
    run(Command::new("desktop-file-validate").arg(entry_path));
    let entry = std::fs::read_to_string(entry_path).unwrap();
    assert_eq!(entry_value(&entry, "Name"), "Baton");
    assert!(!entry_value(&entry, "Comment").is_empty());
    assert_eq!(entry_value(&entry, "Categories"), "Office;X-Sales;");
    let wm_class = entry_value(&entry, "StartupWMClass").to_string();
    // Exec's program, without field codes (%U and the like).
    let exec = entry_value(&entry, "Exec")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let program = on_path(&exec);
    assert!(
        files.contains(&program),
        "Exec={exec} is not the package's own binary"
    );

    // The bundled CLI works and signs a profile in.
    let server = Server::start(&format!(
        "{ONE_TEAM}\n[desktop_release]\nversion = \"99.1.0\"\nnotes = \"Faster search.\\nSnooze with x.\"\n\
         notes_url = \"https://downloads.baton.test/notes/99.1\"\n[desktop_release.downloads]\n\
         deb = \"https://downloads.baton.test/baton_99.1.0_amd64.deb\"\n\
         rpm = \"https://downloads.baton.test/baton-99.1.0-1.x86_64.rpm\"\n"
    ));
    let ava = server.add_rep("Ava Rossi", "sales", 1, 100);
    server.intake().push(&lead("installed-1")).await;
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("profile");
    let version = run(Command::new("/usr/bin/baton").arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    run(Command::new("/usr/bin/baton")
        .args(["login", "--server", &server.base, "--token", &ava.token])
        .env("BATON_DATA_DIR", &data)
        .env_remove("DBUS_SESSION_BUS_ADDRESS"));

    // Launched from the entry's Exec line: a window titled Baton, of the
    // class the entry names.
    let display = Display::start();
    let bus = SessionBus::start();
    let started = Instant::now();
    let mut app: Child = Command::new(&program)
        .env("DISPLAY", &display.name)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env("BATON_DATA_DIR", &data)
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("launch the installed app");
    let classes = loop {
        let found = windows_titled(&display.name, "Baton");
        if !found.is_empty() {
            break found;
        }
        assert!(
            started.elapsed() < WAIT,
            "no window titled Baton within {WAIT:?}"
        );
        if let Some(status) = app.try_wait().unwrap() {
            panic!("the installed app exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let to_window = started.elapsed();
    assert!(
        classes
            .iter()
            .any(|c| c.contains(&format!("\"{wm_class}\""))),
        "StartupWMClass={wm_class} matches no Baton window's class: {classes:?}"
    );
    // Settled: the inbox has loaded and the stream is open.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pss = pss_of_tree(app.id());
    eprintln!(
        "installed app: window titled Baton {} ms after launch; memory {} PSS (app and WebKit processes, 3 s after the window)",
        to_window.as_millis(),
        mib(pss)
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(app.id() as i32, libc::SIGTERM) };
    let _ = app.wait();

    // Through WebDriver, the installed binary: the update notice from the
    // real server, for the .deb it was installed from, then start at login.
    let driver = Driver::start_with(
        &display,
        &bus,
        &data,
        &[
            ("HOME", home.path().as_os_str()),
            ("XDG_CONFIG_HOME", OsStr::new("")),
        ],
    );
    let window = driver.open(&program).await;
    let notice = window.find("[data-testid=update-notice]", WAIT).await;
    let text = window.text(&notice).await;
    assert!(text.contains("Baton 99.1.0 is available"), "{text}");
    let link = window
        .script(
            "return document.querySelector('[data-testid=update-download]')?.textContent ?? '';",
        )
        .await;
    assert!(
        link.as_str().unwrap_or_default().contains(".deb"),
        "the download offered is the .deb's: {link}"
    );
    window
        .click(&window.find("[data-testid=settings]", WAIT).await)
        .await;
    window
        .script(
            "const label = [...document.querySelectorAll('label')].find((l) => l.textContent.includes('Start Baton when I log in'));\
             label.querySelector('input').click(); return true;",
        )
        .await;
    let autostart = home.path().join(".config/autostart");
    let launcher = eventually(WAIT, "a start-at-login entry", || {
        let dir = autostart.clone();
        async move {
            std::fs::read_dir(&dir)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension() == Some(OsStr::new("desktop")))
        }
    })
    .await;
    let launcher_text = std::fs::read_to_string(&launcher).unwrap();
    let launch_exec = entry_value(&launcher_text, "Exec");
    assert!(
        launch_exec.split_whitespace().next() == Some(program.to_str().unwrap())
            || launch_exec
                .trim_matches('"')
                .starts_with(program.to_str().unwrap()),
        "start at login runs {launch_exec}, not the installed {}",
        program.display()
    );
    window.quit().await;
    drop(driver);

    // Purged: none of its files remain; the profile (in HOME) is the rep's.
    apt(&["purge", DESKTOP_PACKAGE]);
    assert!(!installed(DESKTOP_PACKAGE));
    let left: Vec<&PathBuf> = files.iter().filter(|f| f.exists()).collect();
    assert!(left.is_empty(), "left after purge: {left:?}");
    for path in [
        "/usr/bin/baton",
        "/usr/bin/baton-desktop",
        "/usr/share/applications/Baton.desktop",
    ] {
        assert!(!Path::new(path).exists(), "{path} is left after purge");
    }
    let icons_left = run(Command::new("find").args([
        "/usr/share/icons",
        "/usr/share/applications",
        "/usr/lib",
        "-name",
        "*aton*",
        "-not",
        "-path",
        "*/python3/*",
    ]));
    assert!(
        icons_left.lines().all(|l| !l.contains("baton-desktop")
            && !l.ends_with("Baton.desktop")
            && !l.ends_with("/Baton")),
        "left after purge: {icons_left}"
    );
}

/// A systemd unit's `[Service]` settings this test honours.
struct Unit {
    user: String,
    group: String,
    env_file: PathBuf,
    exec_start: String,
    working_directory: PathBuf,
    state_directory: String,
    kill_signal: String,
}

fn read_unit(path: &Path) -> Unit {
    let text = std::fs::read_to_string(path).unwrap();
    let mut in_service = false;
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service
            && !line.starts_with('#')
            && let Some((k, v)) = line.split_once('=')
        {
            keys.insert(k.to_string(), v.to_string());
        }
    }
    let key = |k: &str| {
        keys.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("the unit has no {k}="))
    };
    Unit {
        user: key("User"),
        group: key("Group"),
        env_file: PathBuf::from(key("EnvironmentFile")),
        exec_start: key("ExecStart"),
        working_directory: PathBuf::from(key("WorkingDirectory")),
        state_directory: key("StateDirectory"),
        kill_signal: key("KillSignal"),
    }
}

/// `KEY=value` lines, as systemd reads an EnvironmentFile.
fn read_env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

impl Unit {
    /// ExecStart split on spaces, `${VAR}` replaced from the environment.
    fn argv(&self, env: &[(String, String)]) -> Vec<String> {
        self.exec_start
            .split_whitespace()
            .map(|word| {
                let mut w = word.to_string();
                for (k, v) in env {
                    w = w.replace(&format!("${{{k}}}"), v);
                }
                assert!(
                    !w.contains("${"),
                    "ExecStart uses a variable {w} the environment file does not set"
                );
                w
            })
            .collect()
    }

    /// Starts the service as systemd would: as User and Group, with only
    /// the EnvironmentFile's variables, in WorkingDirectory.
    fn start(&self) -> Child {
        let env = read_env_file(&self.env_file);
        let argv = self.argv(&env);
        Command::new("setpriv")
            .args([
                &format!("--reuid={}", self.user),
                &format!("--regid={}", self.group),
                "--init-groups",
                "--",
            ])
            .args(&argv)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env)
            .current_dir(&self.working_directory)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the service")
    }

    /// As User, a `baton-server` admin command on the service's database.
    fn admin(&self, args: &[&str]) -> String {
        let env = read_env_file(&self.env_file);
        let db = &env.iter().find(|(k, _)| k == "BATON_DB").unwrap().1;
        let config = &env.iter().find(|(k, _)| k == "BATON_CONFIG").unwrap().1;
        run(Command::new("setpriv")
            .args([
                &format!("--reuid={}", self.user),
                &format!("--regid={}", self.group),
                "--init-groups",
                "--",
            ])
            .arg("/usr/bin/baton-server")
            .args(args)
            .args(["--db", db, "--config", config])
            .env_clear()
            .current_dir(&self.working_directory))
        .trim()
        .to_string()
    }

    fn stop(&self, mut child: Child) {
        assert_eq!(self.kill_signal, "SIGTERM");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "the service did not stop cleanly on SIGTERM: {status}"
        );
    }
}

async fn wait_healthy(base: &str) {
    let http = reqwest::Client::new();
    eventually(WAIT, "the service answers /healthz", || {
        let http = http.clone();
        async move {
            let r = http.get(format!("{base}/healthz")).send().await.ok()?;
            (r.status() == StatusCode::OK).then_some(())
        }
    })
    .await;
}

const SERVER_PACKAGE: &str = "baton-server";

#[tokio::test]
async fn the_server_package_runs_as_a_service_and_keeps_its_data_across_a_restart() {
    as_root();
    let deb = package("baton-server_", ".deb");
    if installed(SERVER_PACKAGE) {
        apt(&["purge", SERVER_PACKAGE]);
    }
    eprintln!(
        "package size: {} {}",
        deb.file_name().unwrap().to_string_lossy(),
        mib(deb.metadata().unwrap().len())
    );
    apt(&["install", deb.to_str().unwrap()]);
    let unit_path = Path::new("/lib/systemd/system/baton-server.service");
    run(Command::new("systemd-analyze").arg("verify").arg(unit_path));
    let unit = read_unit(unit_path);
    assert_eq!(unit.user, "baton");

    // Its own system user, data directory and a config only it can read.
    let passwd = run(Command::new("getent").args(["passwd", "baton"]));
    assert!(passwd.contains("/var/lib/baton"), "{passwd}");
    let uid: u32 = passwd.split(':').nth(2).unwrap().parse().unwrap();
    assert!(uid < 1000, "baton is a system user: {passwd}");
    let state = Path::new("/var/lib").join(&unit.state_directory);
    let meta = std::fs::metadata(&state).unwrap();
    assert_eq!(
        (meta.uid(), meta.mode() & 0o777),
        (uid, 0o750),
        "{}",
        state.display()
    );
    let env_meta = std::fs::metadata("/etc/baton/server.env").unwrap();
    assert_eq!((env_meta.uid(), env_meta.mode() & 0o777), (0, 0o640));

    // The operator picks the address in /etc/baton/server.env.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env_text = std::fs::read_to_string(&unit.env_file).unwrap();
    std::fs::write(
        &unit.env_file,
        env_text.replace(
            "BATON_ADDR=127.0.0.1:7878",
            &format!("BATON_ADDR=127.0.0.1:{port}"),
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let manager_token = unit.admin(&[
        "manager",
        "add",
        "--name",
        "Ops",
        "--email",
        "ops@baton.test",
    ]);
    let intake_token = unit.admin(&["intake-key", "add", "--label", "website"]);
    let client = |token: &str| Client {
        http: reqwest::Client::new(),
        base: base.clone(),
        token: token.to_string(),
    };

    let service = unit.start();
    wait_healthy(&base).await;
    let db = state.join("baton.db");
    assert_eq!(
        std::fs::metadata(&db).unwrap().uid(),
        uid,
        "the service's database is its user's"
    );
    let pushed = client(&intake_token).push(&lead("service-1")).await.lead;

    // systemctl restart: stop with the unit's signal, start again.
    unit.stop(service);
    let service = unit.start();
    wait_healthy(&base).await;
    let kept: baton_protocol::Lead = client(&manager_token).lead(pushed.id).await.json();
    assert_eq!(
        kept.external_id, "service-1",
        "the lead survived the restart"
    );
    unit.stop(service);

    // Purge takes the data and config with it; the system user stays.
    let files = files_of(SERVER_PACKAGE);
    apt(&["purge", SERVER_PACKAGE]);
    let left: Vec<&PathBuf> = files.iter().filter(|f| f.exists()).collect();
    assert!(left.is_empty(), "left after purge: {left:?}");
    assert!(!state.exists(), "{} is left after purge", state.display());
    assert!(
        !Path::new("/etc/baton").exists(),
        "/etc/baton is left after purge"
    );
}
