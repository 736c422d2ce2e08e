//! The desktop app's releases, as the server advertises them
//! (`GET /v1/desktop/release`). The operator configures the newest version,
//! its notes and a download address per package format; the app compares the
//! version with its own and says when a newer one is out. It never downloads
//! or installs anything itself: on Linux the package manager owns that.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A format the desktop app is packaged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum PackageFormat {
    Deb,
    Rpm,
    AppImage,
    Msi,
    Nsis,
    Dmg,
}

impl PackageFormat {
    pub const ALL: [PackageFormat; 6] = [
        PackageFormat::Deb,
        PackageFormat::Rpm,
        PackageFormat::AppImage,
        PackageFormat::Msi,
        PackageFormat::Nsis,
        PackageFormat::Dmg,
    ];

    /// The wire name, as in the config's `[desktop_release.downloads]`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageFormat::Deb => "deb",
            PackageFormat::Rpm => "rpm",
            PackageFormat::AppImage => "appimage",
            PackageFormat::Msi => "msi",
            PackageFormat::Nsis => "nsis",
            PackageFormat::Dmg => "dmg",
        }
    }
}

/// The newest desktop release the operator has announced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
#[serde(deny_unknown_fields)]
pub struct DesktopRelease {
    /// Semantic version, e.g. `0.2.0`.
    pub version: String,
    /// What changed, as plain text (never rendered as markup).
    #[serde(default)]
    pub notes: String,
    /// A page with the full release notes (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes_url: Option<String>,
    /// Where to download each package format (https).
    #[serde(default)]
    pub downloads: BTreeMap<PackageFormat, String>,
}

impl DesktopRelease {
    /// The longest notes an announcement may carry (plain text).
    pub const MAX_NOTES_CHARS: usize = 4000;
    /// The longest download or notes address.
    pub const MAX_URL_CHARS: usize = 2048;

    /// Whether `u` is an address an app may hand to the system's browser:
    /// https, at most [`Self::MAX_URL_CHARS`], no spaces or control
    /// characters. The server refuses an announcement with any other; an
    /// app drops any other a server sends.
    pub fn is_safe_url(u: &str) -> bool {
        u.len() <= Self::MAX_URL_CHARS
            && u.strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty())
            && !u.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// `GET /v1/desktop/release`: `release` is null when none is announced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DesktopReleaseInfo {
    pub release: Option<DesktopRelease>,
}
