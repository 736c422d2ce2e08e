//! A private D-Bus session bus with a recorder owning
//! org.freedesktop.Notifications (tests/fixtures/notification_server.py,
//! Debian's python3-dbus): notifications observed for real, and their
//! action buttons clicked as a notification server would report it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{Baton, eventually};

pub struct SessionBus {
    daemon: Child,
    recorder: Child,
    pub address: String,
    record: PathBuf,
    _dir: tempfile::TempDir,
}

impl SessionBus {
    pub fn start() -> SessionBus {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is installed");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        let record = dir.path().join("notifications.jsonl");
        std::fs::write(&record, "").unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/notification_server.py"
        );
        let recorder = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&record)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .spawn()
            .expect("Debian's python3 with python3-dbus and python3-gi");
        let bus = SessionBus {
            daemon,
            recorder,
            address,
            record,
            _dir: dir,
        };
        for _ in 0..100 {
            let out = bus.dbus_send(&[
                "--dest=org.freedesktop.DBus",
                "--print-reply",
                "/",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.Notifications",
            ]);
            if out.contains("boolean true") {
                return bus;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the notification recorder never owned org.freedesktop.Notifications");
    }

    pub fn dbus_send(&self, args: &[&str]) -> String {
        let out = Command::new("dbus-send")
            .arg("--session")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub async fn wait_for_calls(&self, n: usize, within: Duration) -> Vec<Value> {
        eventually(within, &format!("{n} notifications"), || {
            let calls = self.calls();
            async move { (calls.len() >= n).then_some(calls) }
        })
        .await
    }

    /// Clicks a notification's action button, as the notification server would report it.
    pub fn invoke(&self, id: u64, action: &str) {
        self.dbus_send(&[
            "--dest=org.freedesktop.Notifications",
            "--type=method_call",
            "/org/freedesktop/Notifications",
            "org.baton.Test.Invoke",
            &format!("uint32:{id}"),
            &format!("string:{action}"),
        ]);
    }

    pub fn watch(&self, baton: &Baton) -> Child {
        baton
            .command(&["watch"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.recorder.kill();
        let _ = self.recorder.wait();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
