//! The desktop side of update notices: which package format this binary
//! was installed from, the daily check's answers sent to the window, and
//! the announced pages opened in the system's browser. Deciding whether a
//! release is newer is baton-core's (`baton_core::updates`).

use baton_core::updates::UpdateNotice;
use baton_core::{CoreError, Result};
use baton_protocol::PackageFormat;
use serde::Deserialize;
use tauri::utils::config::BundleType;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::watch;

use crate::{Shell, events};

/// Which of the notice's pages to open.
#[derive(Clone, Copy, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum UpdateLink {
    Download,
    Notes,
}

/// The format Tauri's bundler stamped into this binary when it packaged
/// it; `None` for a binary built from source.
pub fn package_format() -> Option<PackageFormat> {
    Some(match tauri::utils::platform::bundle_type()? {
        BundleType::Deb => PackageFormat::Deb,
        BundleType::Rpm => PackageFormat::Rpm,
        BundleType::AppImage => PackageFormat::AppImage,
        BundleType::Msi => PackageFormat::Msi,
        BundleType::Nsis => PackageFormat::Nsis,
        BundleType::App | BundleType::Dmg => PackageFormat::Dmg,
    })
}

/// Runs the check at start and daily for as long as the app runs.
pub fn start(app: &AppHandle, recheck: watch::Receiver<()>) {
    let app = app.clone();
    tauri::async_runtime::spawn(baton_core::updates::watch(
        app.state::<Shell>().profile.clone(),
        env!("CARGO_PKG_VERSION").to_string(),
        package_format(),
        recheck,
        move |notice| {
            *app.state::<Shell>().update.lock().expect("update lock") = notice.clone();
            if let Err(e) = app.emit(events::UPDATE, &notice) {
                tracing::warn!(error = %e, "cannot send the update notice to the window");
            }
        },
    ));
}

/// Hands the notice's address to the system's browser. Baton itself never
/// downloads or installs: the package manager owns the installed files.
pub fn open(notice: Option<&UpdateNotice>, link: UpdateLink) -> Result<()> {
    let url = notice.and_then(|n| match link {
        UpdateLink::Download => n.download_url.clone(),
        UpdateLink::Notes => n.notes_url.clone(),
    });
    let Some(url) = url else {
        return Err(CoreError::NotActionable(
            "no such page was announced for this release".into(),
        ));
    };
    let mut command = browser_command(&url);
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            CoreError::NotActionable(format!(
                "cannot open the browser ({e}); the address is {url}"
            ))
        })?;
    // Reaped off the UI's thread: xdg-open may wait for the browser.
    std::thread::spawn(move || child.wait());
    Ok(())
}

fn browser_command(url: &str) -> std::process::Command {
    #[cfg(target_os = "macos")]
    let mut c = std::process::Command::new("open");
    #[cfg(target_os = "windows")]
    let mut c = {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    };
    #[cfg(not(any(target_os = "macos", target_os = "windows")))]
    let mut c = std::process::Command::new("xdg-open");
    c.arg(url);
    c
}
