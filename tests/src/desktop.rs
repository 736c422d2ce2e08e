//! The desktop app in a real window: an Xvfb display, `tauri-driver` (with
//! Debian's WebKitWebDriver) and the release `baton-desktop` binary.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bus::SessionBus;
use crate::webdriver::WebDriver;

/// The release desktop binary (`cargo build --release -p baton-desktop`), or
/// `$BATON_DESKTOP_BIN`.
pub fn desktop_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BATON_DESKTOP_BIN") {
        return PathBuf::from(p);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/baton-desktop");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p baton-desktop` (scripts/test does)",
        path.display()
    );
    path
}

fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("HOME or CARGO_HOME");
    let path = home.join("bin/tauri-driver");
    assert!(
        path.exists(),
        "tauri-driver is missing: `cargo install tauri-driver --locked` (scripts/setup does)"
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A virtual X display of its own (Xvfb picks a free display number).
pub struct Display {
    child: Child,
    pub name: String,
}

impl Display {
    pub fn start() -> Display {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (Debian package xvfb) is installed");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let n = line.trim();
        assert!(!n.is_empty(), "Xvfb did not report its display");
        Display {
            child,
            name: format!(":{n}"),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tauri-driver` on a free port, launching the app with this environment.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start(display: &Display, bus: &SessionBus, data_dir: &Path) -> Driver {
        Self::start_with(display, bus, data_dir, &[])
    }

    /// As [`Driver::start`], with more environment for the app (e.g. a
    /// `HOME` of its own, where start-at-login writes).
    pub fn start_with(
        display: &Display,
        bus: &SessionBus,
        data_dir: &Path,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Driver {
        let (port, native) = (free_port(), free_port());
        let child = Command::new(tauri_driver())
            .envs(env.iter().copied())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display.name)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("BATON_DATA_DIR", data_dir)
            // No GPU here; WebKit's compositing falls back cleanly without it.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("RUST_LOG", "warn,baton=info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tauri-driver never listened on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Opens the app in a WebDriver session.
    pub async fn open_app(&self) -> WebDriver {
        WebDriver::start(&self.url, &desktop_binary()).await
    }

    /// Opens this binary (an installed app, say) in a WebDriver session.
    pub async fn open(&self, application: &Path) -> WebDriver {
        WebDriver::start(&self.url, application).await
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
