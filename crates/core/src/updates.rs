//! Is a newer desktop app out? The server advertises the release its
//! operator announced (`GET /v1/desktop/release`); the app asks at start and
//! once a day and, when the release is newer than itself, shows a quiet
//! notice with the download for its own package format and the notes.
//!
//! Nothing here downloads or installs: installed from a Linux package, the
//! package manager owns the app's files, and an IT department its versions.

use std::time::Duration;

use baton_protocol::{DesktopRelease, PackageFormat};
use serde::Serialize;
use tokio::sync::watch;

use crate::Profile;
use crate::error::{CoreError, Result};

/// How often a running app asks again.
pub const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// After a failed check (offline, server down), the next try.
pub const RETRY_AFTER: Duration = Duration::from_secs(30 * 60);

/// A release newer than the running app, as the window shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct UpdateNotice {
    /// The newer version, e.g. `0.2.0`.
    pub version: String,
    /// The running app's version.
    pub current: String,
    /// Plain text, control characters removed, at most
    /// [`DesktopRelease::MAX_NOTES_CHARS`] (the server bounds them too, but
    /// what it sends is still outside text).
    pub notes: String,
    /// The full notes (https), if the operator gave a page.
    pub notes_url: Option<String>,
    /// The download for the app's own package format (https), if the
    /// operator gave one for it.
    pub download_url: Option<String>,
    /// The format the app was installed from, when it knows.
    pub format: Option<PackageFormat>,
}

/// The notice for `release`, if it is newer than `current`. `format` picks
/// the download. An unreadable version is an error: the server is not a
/// baton-server this app understands.
pub fn notice_for(
    release: &DesktopRelease,
    current: &str,
    format: Option<PackageFormat>,
) -> Result<Option<UpdateNotice>> {
    let offered = semver::Version::parse(release.version.trim()).map_err(|e| {
        CoreError::IncompatibleServer(format!(
            "the server announces desktop version {:?}, which is not a version ({e})",
            release.version.chars().take(40).collect::<String>()
        ))
    })?;
    let running = semver::Version::parse(current).map_err(|e| {
        CoreError::InvalidInput(format!(
            "this app's version {current:?} is not a version ({e})"
        ))
    })?;
    if offered <= running {
        return Ok(None);
    }
    let notes: String = release
        .notes
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(DesktopRelease::MAX_NOTES_CHARS)
        .collect();
    Ok(Some(UpdateNotice {
        version: offered.to_string(),
        current: running.to_string(),
        notes: notes.trim().to_string(),
        notes_url: release.notes_url.as_deref().and_then(safe_url),
        download_url: format
            .and_then(|f| release.downloads.get(&f))
            .and_then(|u| safe_url(u)),
        format,
    }))
}

/// Only an https address with nothing odd in it is offered to open: the
/// window hands it to the system's browser.
fn safe_url(u: &str) -> Option<String> {
    DesktopRelease::is_safe_url(u).then(|| u.to_string())
}

/// Asks `server` once.
pub async fn check(
    server: &str,
    current: &str,
    format: Option<PackageFormat>,
) -> Result<Option<UpdateNotice>> {
    // The endpoint is open: no token is read (or sent) for it.
    let api = crate::api::ApiClient::new(server, "")?;
    match api.desktop_release().await?.release {
        Some(release) => notice_for(&release, current, format),
        None => Ok(None),
    }
}

/// Checks now and then every [`CHECK_EVERY`] (sooner after a failure, and
/// at once when `recheck` changes, e.g. after sign-in), for as long as the
/// app runs. `show` gets each answer: a notice, or `None` when the app is
/// current (a withdrawn announcement clears a notice). Without a signed-in
/// profile there is no server to ask, and it waits for `recheck`.
pub async fn watch(
    profile: Profile,
    current: String,
    format: Option<PackageFormat>,
    mut recheck: watch::Receiver<()>,
    show: impl Fn(Option<UpdateNotice>) + Send,
) {
    loop {
        let server = profile.settings().ok().flatten().map(|s| s.server);
        let wait = match server {
            None => None,
            Some(server) => match check(&server, &current, format).await {
                Ok(notice) => {
                    show(notice);
                    Some(CHECK_EVERY)
                }
                Err(e) => {
                    tracing::info!(error = %e, "could not check for a new desktop version");
                    Some(RETRY_AFTER)
                }
            },
        };
        match wait {
            Some(wait) => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    changed = recheck.changed() => if changed.is_err() { return },
                }
            }
            None => {
                if recheck.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn release(version: &str) -> DesktopRelease {
        DesktopRelease {
            version: version.into(),
            notes: "Faster search.\u{1b}[31m\nKeyboard: x snoozes.".into(),
            notes_url: Some("javascript:alert(1)".into()),
            downloads: BTreeMap::from([
                (
                    PackageFormat::Deb,
                    "https://dl.example.com/baton_0.2.0_amd64.deb".into(),
                ),
                (PackageFormat::Rpm, "http://dl.example.com/baton.rpm".into()),
            ]),
        }
    }

    #[tokio::test]
    async fn the_watch_asks_once_signed_in_and_again_when_told_and_a_withdrawn_release_clears() {
        let announced =
            r#"{"release":{"version":"9.0.0","notes":"Snooze with x.","downloads":{}}}"#;
        let server = crate::stand_in::StandIn::serve(vec![
            ("200 OK", announced.to_string()),
            ("200 OK", r#"{"release":null}"#.to_string()),
        ])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile {
            dir: dir.path().to_path_buf(),
        };
        let (recheck, rechecked) = watch::channel(());
        let (shown_tx, mut shown) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(super::watch(
            profile,
            "0.1.0".into(),
            None,
            rechecked,
            move |n| {
                let _ = shown_tx.send(n);
            },
        ));
        // Signed out: no server to ask, so nothing is asked or shown.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(shown.try_recv().is_err(), "nothing is shown");
        assert!(server.lines().is_empty());

        // Signed in (the profile names the server), then told to look.
        let settings =
            serde_json::json!({ "server": server.base, "token_store": "file", "rep_name": "Ava" });
        std::fs::write(dir.path().join("profile.json"), settings.to_string()).unwrap();
        recheck.send(()).unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), shown.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.map(|n| n.version).as_deref(), Some("9.0.0"));
        // Told again before the day is out: the announcement was withdrawn.
        recheck.send(()).unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), shown.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second, None);
        assert_eq!(server.lines(), vec!["GET /v1/desktop/release HTTP/1.1"; 2]);
        task.abort();
    }

    #[test]
    fn only_a_newer_version_is_a_notice() {
        let r = release("0.2.0");
        assert_eq!(notice_for(&r, "0.2.0", None).unwrap(), None);
        assert_eq!(notice_for(&r, "0.10.0", None).unwrap(), None);
        assert!(notice_for(&r, "0.1.9", None).unwrap().is_some());
        // A pre-release is older than its release, newer than the one before.
        assert!(notice_for(&r, "0.2.0-rc.1", None).unwrap().is_some());
        assert_eq!(
            notice_for(&release("0.2.0-rc.1"), "0.2.0", None).unwrap(),
            None
        );
        assert!(matches!(
            notice_for(&release("two"), "0.1.0", None),
            Err(CoreError::IncompatibleServer(_))
        ));
    }

    #[test]
    fn the_notice_links_only_https_and_carries_plain_notes() {
        let r = release("0.2.0");
        let deb = notice_for(&r, "0.1.0", Some(PackageFormat::Deb))
            .unwrap()
            .unwrap();
        assert_eq!(
            deb.download_url.as_deref(),
            Some("https://dl.example.com/baton_0.2.0_amd64.deb")
        );
        assert_eq!(deb.notes, "Faster search.[31m\nKeyboard: x snoozes.");
        assert_eq!(
            deb.notes_url, None,
            "a javascript: address is never offered"
        );
        let rpm = notice_for(&r, "0.1.0", Some(PackageFormat::Rpm))
            .unwrap()
            .unwrap();
        assert_eq!(rpm.download_url, None, "plain http is not offered");
        let unknown = notice_for(&r, "0.1.0", None).unwrap().unwrap();
        assert_eq!(unknown.download_url, None);
        assert_eq!(unknown.version, "0.2.0");
        assert_eq!(unknown.current, "0.1.0");
    }
}
