//! A profile: one data directory holding the cache, the server URL, and
//! where the token is kept (the OS keychain, or a 0600 file when there is
//! no keychain service).

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
}

fn rep_role() -> Role {
    Role::Rep
}

/// How long storing the token at sign-in may take. Where no keychain service
/// runs, the call can wait on D-Bus service activation for most of a minute;
/// giving up sooner falls back to the 0600 file instead of freezing sign-in.
/// Long enough to unlock a locked keychain at its prompt.
const KEYCHAIN_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Reading the token may wait on the keychain's unlock prompt.
const KEYCHAIN_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

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
            format!(
                "the keychain service did not answer within {} s",
                timeout.as_secs()
            )
            .into(),
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

    fn token_path(&self) -> PathBuf {
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
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            CoreError::Profile(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        let user = self.keyring_user();
        let secret = token.to_string();
        let store = match keychain(KEYCHAIN_STORE_TIMEOUT, move || {
            keyring::Entry::new(KEYRING_SERVICE, &user).and_then(|e| e.set_password(&secret))
        }) {
            Ok(()) => {
                let _ = std::fs::remove_file(self.token_path());
                TokenStore::Keychain
            }
            Err(e) => {
                tracing::info!(error = %e, "no OS keychain available; keeping the token in a 0600 file");
                write_private(&self.token_path(), token)?;
                TokenStore::File
            }
        };
        let settings = ProfileSettings {
            server: server.to_string(),
            token_store: store,
            rep_name: rep_name.to_string(),
            role,
        };
        write_private(
            &self.settings_path(),
            &serde_json::to_string_pretty(&settings).expect("serialisable"),
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
        let store = self.save_login(api.base(), token, &me.name, me.role)?;
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
        Ok(())
    }
}

/// Writes a file only its owner can read (0600), replacing it atomically.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = opts.open(&tmp).and_then(|mut f| {
        f.write_all(contents.as_bytes())?;
        f.sync_all()
    });
    result
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CoreError::Profile(format!("cannot write {}: {e}", path.display())))
}
