//! A profile: one data directory holding the cache, the server URL, and
//! where the token is kept (the OS keychain, or a 0600 file when there is
//! no keychain service).
//!
//! The directory holds leads' personal data, so it is its owner's alone:
//! the directory is 0700 and every file in it 0600
//! ([`create_private_dir`], [`ensure_private_file`], [`write_private`]).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use baton_protocol::{Me, Role};

use crate::api::ApiClient;
use crate::error::{CoreError, Result};

const KEYRING_SERVICE: &str = "baton";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStore {
    Keychain,
    File,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSettings {
    pub server: String,
    pub token_store: TokenStore,
    /// Who the token belongs to, as the server said at login.
    pub rep_name: String,
    /// A rep works an inbox; a manager reviews handoffs. Profiles from
    /// before managers could sign in are reps'.
    #[serde(default = "rep_role")]
    pub role: Role,
    /// Why the token is in a file rather than the OS keychain, in words a
    /// rep understands (never the token itself); `None` when it is in the
    /// keychain, and in profiles from before this was kept.
    #[serde(default)]
    pub token_file_reason: Option<String>,
}

fn rep_role() -> Role {
    Role::Rep
}

impl ProfileSettings {
    /// What to tell the rep when the sign-in token is kept in a file rather
    /// than the OS keychain (`None` when it is in the keychain): where it is,
    /// why, and how to move it. `token_file` is [`Profile::token_path`].
    pub fn token_notice(&self, token_file: &Path) -> Option<String> {
        if self.token_store != TokenStore::File {
            return None;
        }
        let reason = self
            .token_file_reason
            .as_deref()
            .map(|r| r.trim().trim_end_matches('.'))
            .filter(|r| !r.is_empty())
            .unwrap_or("no OS keychain service was available when you signed in");
        Some(format!(
            "Your sign-in token is stored in a file only you can read ({}), because {reason}. \
             Sign in again once your desktop's keychain (GNOME Keyring / KWallet) is running \
             to move it there.",
            token_file.display()
        ))
    }
}

/// How long storing the token at sign-in may take. Where no keychain service
/// runs, the call can wait on D-Bus service activation for most of a minute;
/// giving up sooner falls back to the 0600 file instead of freezing sign-in.
/// Long enough to unlock a locked keychain at its prompt.
const KEYCHAIN_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Reading the token may wait on the keychain's unlock prompt.
const KEYCHAIN_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A keychain call that did not answer in time.
#[derive(Debug)]
struct KeychainTimeout(std::time::Duration);

impl std::fmt::Display for KeychainTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no OS keychain service answered within {} s",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for KeychainTimeout {}

/// Why storing the token in the keychain failed, for
/// [`ProfileSettings::token_file_reason`]: one short line, without the token
/// should an error ever quote it.
fn keychain_reason(e: &keyring::Error, token: &str) -> String {
    let text = match e {
        keyring::Error::PlatformFailure(inner) if inner.is::<KeychainTimeout>() => {
            inner.to_string()
        }
        keyring::Error::PlatformFailure(inner) => {
            format!("the OS keychain could not be used ({inner})")
        }
        keyring::Error::NoStorageAccess(inner) => {
            format!("the OS keychain is locked or refused access ({inner})")
        }
        other => format!("the OS keychain could not store it ({other})"),
    };
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !token.is_empty() {
        text = text.replace(token, "[token]");
    }
    const MAX_CHARS: usize = 240;
    if let Some((cut, _)) = text.char_indices().nth(MAX_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Runs a keychain call on a thread of its own: the keyring crate blocks on
/// D-Bus with a runtime of its own, which must not nest in the caller's.
fn keychain<R: Send + 'static>(
    timeout: std::time::Duration,
    f: impl FnOnce() -> keyring::Result<R> + Send + 'static,
) -> keyring::Result<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("baton-keychain".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| keyring::Error::PlatformFailure(Box::new(e)))?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(keyring::Error::PlatformFailure(
            Box::new(KeychainTimeout(timeout)),
        )),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(
            keyring::Error::PlatformFailure("keychain thread panicked".into()),
        ),
    }
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub dir: PathBuf,
}

impl Profile {
    /// The given directory, or the platform's data directory + `baton/default`.
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Profile> {
        if let Some(dir) = explicit {
            return Ok(Profile { dir });
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .ok_or_else(|| {
                CoreError::Profile("no HOME or XDG_DATA_HOME: pass --data-dir".into())
            })?;
        Ok(Profile {
            dir: base.join("baton").join("default"),
        })
    }

    pub fn cache_path(&self) -> PathBuf {
        self.dir.join("cache.db")
    }

    fn settings_path(&self) -> PathBuf {
        self.dir.join("profile.json")
    }

    /// Where the token is kept when there is no OS keychain
    /// ([`TokenStore::File`]).
    pub fn token_path(&self) -> PathBuf {
        self.dir.join("token")
    }

    fn keyring_user(&self) -> String {
        format!("{}", self.dir.display())
    }

    pub fn settings(&self) -> Result<Option<ProfileSettings>> {
        match std::fs::read_to_string(self.settings_path()) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                CoreError::Profile(format!(
                    "{} is damaged ({e}); sign in again with `baton login`",
                    self.settings_path().display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CoreError::Profile(format!(
                "cannot read {}: {e}",
                self.settings_path().display()
            ))),
        }
    }

    /// Stores the server and token; returns where the token went.
    pub fn save_login(
        &self,
        server: &str,
        token: &str,
        rep_name: &str,
        role: Role,
    ) -> Result<TokenStore> {
        create_private_dir(&self.dir)?;
        let user = self.keyring_user();
        let secret = token.to_string();
        let (store, token_file_reason) = match keychain(KEYCHAIN_STORE_TIMEOUT, move || {
            keyring::Entry::new(KEYRING_SERVICE, &user).and_then(|e| e.set_password(&secret))
        }) {
            Ok(()) => {
                let _ = std::fs::remove_file(self.token_path());
                (TokenStore::Keychain, None)
            }
            Err(e) => {
                let reason = keychain_reason(&e, token);
                tracing::info!(%reason, "no OS keychain available; keeping the token in a 0600 file");
                write_private(&self.token_path(), token.as_bytes())?;
                (TokenStore::File, Some(reason))
            }
        };
        let settings = ProfileSettings {
            server: server.to_string(),
            token_store: store,
            rep_name: rep_name.to_string(),
            role,
            token_file_reason,
        };
        write_private(
            &self.settings_path(),
            serde_json::to_string_pretty(&settings)
                .expect("serialisable")
                .as_bytes(),
        )?;
        Ok(store)
    }

    pub fn token(&self, settings: &ProfileSettings) -> Result<String> {
        match settings.token_store {
            TokenStore::Keychain => {
                let user = self.keyring_user();
                keychain(KEYCHAIN_READ_TIMEOUT, move || keyring::Entry::new(KEYRING_SERVICE, &user).and_then(|e| e.get_password()))
                .map_err(|e| {
                    CoreError::Profile(format!(
                        "cannot read the token from the OS keychain ({e}); sign in again with `baton login`"
                    ))
                })
            }
            TokenStore::File => std::fs::read_to_string(self.token_path())
                .map(|t| t.trim().to_string())
                .map_err(|e| {
                    CoreError::Profile(format!(
                        "cannot read {} ({e}); sign in again with `baton login`",
                        self.token_path().display()
                    ))
                }),
        }
    }

    /// Checks the token with the server (it must be a rep's) and keeps it:
    /// what `baton login` does.
    pub async fn sign_in(&self, server: &str, token: &str) -> Result<(Me, TokenStore)> {
        self.sign_in_as(server, token, &[Role::Rep]).await
    }

    /// As [`Profile::sign_in`], for any of the `allowed` roles (the desktop
    /// app takes reps' and managers' tokens).
    pub async fn sign_in_as(
        &self,
        server: &str,
        token: &str,
        allowed: &[Role],
    ) -> Result<(Me, TokenStore)> {
        let token = token.trim();
        if token.is_empty() {
            return Err(CoreError::InvalidInput(
                "the token is empty: paste the token your admin gave you".into(),
            ));
        }
        let api = ApiClient::new(server.trim(), token)?;
        let me = api.me().await?;
        if !allowed.contains(&me.role) {
            let what = |r: &Role| match r {
                Role::Manager => "manager",
                Role::Intake => "marketing intake key",
                Role::Rep => "rep",
            };
            let wanted: Vec<&str> = allowed.iter().map(what).collect();
            return Err(CoreError::InvalidInput(format!(
                "this token belongs to a {}, not a {}: use a {}'s token",
                what(&me.role),
                wanted.join(" or "),
                wanted.join(" or ")
            )));
        }
        // Storing the token may wait on the keychain (its unlock prompt, or
        // a service that never answers): off the async executor.
        let (profile, base, secret, name, role) = (
            self.clone(),
            api.base().to_string(),
            token.to_string(),
            me.name.clone(),
            me.role,
        );
        let store =
            tokio::task::spawn_blocking(move || profile.save_login(&base, &secret, &name, role))
                .await
                .map_err(|e| CoreError::Profile(format!("cannot save the sign-in: {e}")))??;
        Ok((me, store))
    }

    /// Forgets the token and removes the profile's cache and settings.
    pub fn sign_out(&self) -> Result<()> {
        let user = self.keyring_user();
        let _ = keychain(KEYCHAIN_STORE_TIMEOUT, move || {
            keyring::Entry::new(KEYRING_SERVICE, &user)?.delete_credential()
        });
        for f in [
            "token",
            "profile.json",
            "review.json",
            "cache.db",
            "cache.db-wal",
            "cache.db-shm",
        ] {
            match std::fs::remove_file(self.dir.join(f)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(CoreError::Profile(format!("cannot remove {f}: {e}")));
                }
            }
        }
        remove_temp_files(&self.dir);
        Ok(())
    }
}

/// Creates the profile directory `dir` so that only its owner can enter it
/// (0700), or tightens it to 0700 when it already exists. Missing parents are
/// created with the usual mode and existing ones left alone: they may be
/// shared (`~/.local/share`). Call it before creating anything in `dir`; the
/// cache's `Store::open` does, for the directory of `cache.db`.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let fail = |what: &str, e: io::Error| {
        CoreError::Profile(format!("cannot {what} {}: {e}", dir.display()))
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CoreError::Profile(format!("cannot create {}: {e}", parent.display())))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail("create", e)),
        }
        let meta = std::fs::metadata(dir).map_err(|e| fail("read", e))?;
        if !meta.is_dir() {
            return Err(CoreError::Profile(format!(
                "{} is not a directory: move it away or choose another data directory",
                dir.display()
            )));
        }
        if meta.permissions().mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| fail("make private (mode 0700)", e))?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(|e| fail("create", e))?;
    Ok(())
}

/// Makes sure `path` is a regular file only its owner can read and write:
/// creates it empty with mode 0600 when missing (exclusively, never through
/// a symbolic link), tightens an existing one to 0600, and refuses a
/// symbolic link or anything but a regular file there. For files another
/// program creates with its own mode, such as the cache's `cache.db`,
/// `cache.db-wal` and `cache.db-shm` before SQLite opens them.
pub(crate) fn ensure_private_file(path: &Path) -> Result<()> {
    let fail = |e: io::Error| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            CoreError::Profile(format!(
                "{} is a symbolic link: Baton keeps leads' data only in files of its own and \
                 will not follow it. Remove the link and try again.",
                path.display()
            ))
        } else {
            CoreError::Profile(format!("cannot make {} private: {e}", path.display()))
        }
    };
    // A file appearing or vanishing between the two opens is looked at again.
    for _ in 0..3 {
        match open_existing_nofollow(path) {
            Ok(file) => {
                let meta = file.metadata().map_err(fail)?;
                if !meta.is_file() {
                    return Err(CoreError::Profile(format!(
                        "{} is not a regular file: move it away and try again",
                        path.display()
                    )));
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    if meta.permissions().mode() & 0o077 != 0 {
                        // fchmod: the file checked above, whatever `path` is now.
                        file.set_permissions(std::fs::Permissions::from_mode(0o600))
                            .map_err(fail)?;
                    }
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match create_new_private(path) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(fail(e)),
            },
            Err(e) => return Err(fail(e)),
        }
    }
    Err(CoreError::Profile(format!(
        "cannot make {} private: it keeps changing",
        path.display()
    )))
}

/// Writes `contents` to `path` so that only its owner can read it (0600),
/// replacing any file there atomically: into a new file of an unguessable
/// name beside it (`.{name}.{16 hex digits}.tmp`, created exclusively and
/// never through a symbolic link), synced, renamed over `path`, and the
/// directory synced so the rename survives power loss. The temporary file is
/// removed on failure.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let fail = |e: io::Error| CoreError::Profile(format!("cannot write {}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| fail(io::Error::new(io::ErrorKind::InvalidInput, "not a file")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut attempts = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(temp_name(name).map_err(fail)?);
        match create_new_private(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 3 => attempts += 1,
            Err(e) => return Err(fail(e)),
        }
    };
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    sync_dir(dir).map_err(fail)
}

/// Removes what writes cut short leave in `dir`: `.{name}.{hex}.tmp` from
/// [`write_private`], and `{stem}.tmp` from Baton versions before it.
fn remove_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = ["token", "profile.json", "review.json"].iter().any(|f| {
            name.strip_prefix('.')
                .and_then(|n| n.strip_prefix(f))
                .is_some_and(|rest| rest.starts_with('.') && rest.ends_with(".tmp"))
        });
        if ours || matches!(&*name, "token.tmp" | "profile.tmp" | "review.tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `.{name}.{16 hex digits}.tmp`.
fn temp_name(name: &OsStr) -> io::Result<OsString> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}.tmp", hex::encode(random)));
    Ok(tmp)
}

/// Creates `path` for writing, mode 0600; fails if anything (a symbolic link
/// included, dangling or not) is there already.
fn create_new_private(path: &Path) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(path)
}

/// Opens an existing `path` to look at it, refusing a symbolic link; a FIFO
/// planted there does not block.
fn open_existing_nofollow(path: &Path) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(io::Error::other("a symbolic link"));
    }
    opts.open(path)
}

/// Makes a rename in `dir` durable. Filesystems that cannot sync a directory
/// say so with EINVAL; that is not a failure to write.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if e.kind() == io::ErrorKind::InvalidInput
                || e.kind() == io::ErrorKind::Unsupported =>
        {
            Ok(())
        }
        other => other,
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// A file outside the profile that a planted link points at.
    fn outside(dir: &tempfile::TempDir) -> PathBuf {
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "untouched").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        victim
    }

    #[test]
    fn write_private_never_writes_through_a_planted_link() {
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = outside(&elsewhere);
        let dangling = elsewhere.path().join("created-by-baton");
        let profile = tempfile::tempdir().unwrap();
        let token = profile.path().join("token");
        // Where a temporary file used to be, and names an attacker might guess.
        let planted = [
            "token.tmp",
            ".token.tmp",
            "token~",
            ".token.swp",
            ".token.0000000000000000.tmp",
            ".token.ffffffffffffffff.tmp",
        ];
        for (i, name) in planted.iter().enumerate() {
            let to = if i % 2 == 0 { &victim } else { &dangling };
            symlink(to, profile.path().join(name)).unwrap();
        }
        write_private(&token, b"secret-1").unwrap();
        write_private(&token, b"secret-2").unwrap();

        assert_eq!(std::fs::read_to_string(&token).unwrap(), "secret-2");
        assert_eq!(mode(&token), 0o600);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(mode(&victim), 0o644);
        assert!(!dangling.exists(), "nothing was created through a link");
        for name in planted {
            let p = profile.path().join(name);
            assert!(
                std::fs::symlink_metadata(&p)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
        // The links, the token and nothing else: no temporary file is left.
        assert_eq!(
            std::fs::read_dir(profile.path()).unwrap().count(),
            planted.len() + 1
        );
    }

    #[test]
    fn the_exclusive_open_refuses_links_and_existing_files() {
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = outside(&elsewhere);
        let dir = tempfile::tempdir().unwrap();
        let to_victim = dir.path().join("a.tmp");
        symlink(&victim, &to_victim).unwrap();
        let to_nothing = dir.path().join("b.tmp");
        symlink(elsewhere.path().join("new"), &to_nothing).unwrap();
        for p in [&to_victim, &to_nothing] {
            let e = create_new_private(p).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{}", p.display());
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(!elsewhere.path().join("new").exists());
    }

    #[test]
    fn write_private_replaces_a_link_at_the_target_rather_than_follow_it() {
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = outside(&elsewhere);
        let dir = tempfile::tempdir().unwrap();
        let review = dir.path().join("review.json");
        symlink(&victim, &review).unwrap();
        write_private(&review, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(std::fs::symlink_metadata(&review).unwrap().is_file());
        assert_eq!(mode(&review), 0o600);
    }

    #[test]
    fn write_private_makes_an_existing_readable_file_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn create_private_dir_creates_0700_and_tightens_an_existing_0755_dir() {
        let base = tempfile::tempdir().unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = base.path().join("baton").join("default");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(base.path()), 0o755, "the parent is left alone");

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(base.path()), 0o755, "the parent is left alone");

        let file = base.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        assert!(create_private_dir(&file).is_err());
    }

    #[test]
    fn ensure_private_file_creates_0600_tightens_0644_and_refuses_links() {
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = outside(&elsewhere);
        let dir = tempfile::tempdir().unwrap();

        let fresh = dir.path().join("cache.db");
        ensure_private_file(&fresh).unwrap();
        assert_eq!(std::fs::read(&fresh).unwrap(), b"");
        assert_eq!(mode(&fresh), 0o600);

        let readable = dir.path().join("cache.db-wal");
        std::fs::write(&readable, "pages").unwrap();
        std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
        ensure_private_file(&readable).unwrap();
        assert_eq!(mode(&readable), 0o600);
        assert_eq!(std::fs::read_to_string(&readable).unwrap(), "pages");

        let link = dir.path().join("cache.db-shm");
        symlink(&victim, &link).unwrap();
        let dangling = dir.path().join("other.db");
        symlink(elsewhere.path().join("new"), &dangling).unwrap();
        for p in [&link, &dangling] {
            match ensure_private_file(p) {
                Err(CoreError::Profile(m)) => assert!(m.contains("symbolic link"), "{m}"),
                other => panic!("{}: {other:?}", p.display()),
            }
        }
        assert_eq!(mode(&victim), 0o644, "the link's target is not touched");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(!elsewhere.path().join("new").exists());

        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(ensure_private_file(&fifo).is_err(), "not a regular file");
    }

    #[test]
    fn the_token_notice_says_where_and_why_without_the_token() {
        let token = "bt_rep_0123456789abcdef";
        let timeout =
            keyring::Error::PlatformFailure(Box::new(KeychainTimeout(KEYCHAIN_STORE_TIMEOUT)));
        assert_eq!(
            keychain_reason(&timeout, token),
            "no OS keychain service answered within 15 s"
        );
        let quoting =
            keyring::Error::NoStorageAccess(format!("locked\nwhile storing {token}").into());
        let reason = keychain_reason(&quoting, token);
        assert!(
            !reason.contains(token) && !reason.contains('\n'),
            "{reason}"
        );

        let mut settings = ProfileSettings {
            server: "https://baton.test".into(),
            token_store: TokenStore::File,
            rep_name: "Ava".into(),
            role: Role::Rep,
            token_file_reason: Some(keychain_reason(&timeout, token)),
        };
        let path = Path::new("/home/ava/.local/share/baton/default/token");
        let notice = settings.token_notice(path).unwrap();
        assert!(
            notice.contains("/home/ava/.local/share/baton/default/token"),
            "{notice}"
        );
        assert!(
            notice.contains("because no OS keychain service answered within 15 s."),
            "{notice}"
        );
        assert!(notice.contains("Sign in again"), "{notice}");

        // Profiles from before the reason was kept.
        let old: ProfileSettings = serde_json::from_str(
            r#"{"server": "https://baton.test", "token_store": "file", "rep_name": "Ava"}"#,
        )
        .unwrap();
        assert_eq!(old.token_file_reason, None);
        assert!(
            old.token_notice(path)
                .unwrap()
                .contains("because no OS keychain")
        );

        settings.token_store = TokenStore::Keychain;
        settings.token_file_reason = None;
        assert_eq!(settings.token_notice(path), None);
    }

    #[test]
    fn temporary_files_left_by_an_interrupted_write_are_found() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            ".token.0123456789abcdef.tmp",
            ".review.json.0123456789abcdef.tmp",
            "token.tmp",
            "review.tmp",
        ] {
            std::fs::write(dir.path().join(name), "left over").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "the rep's").unwrap();
        remove_temp_files(dir.path());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["notes.txt"]);
    }
}
