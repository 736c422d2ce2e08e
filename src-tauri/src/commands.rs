//! The commands the UI invokes. Each is a thin call into baton-core; errors
//! cross IPC as baton-core's `{code, message}`.

use std::sync::Arc;

use baton_core::review::{self, Review, ReviewData, ReviewLead, ReviewQuery, ReviewTable};
use baton_core::store::{InboxQuery, LocalStatus};
use baton_core::{CoreError, LeadDetail, LeadSummary, Result};
use baton_protocol::{Availability, LeadId, RejectReason, Role};
use tauri::Manager;
use tauri::{AppHandle, State, Wry};
use tauri_plugin_autostart::ManagerExt;

use crate::view::{InboxFilter, InboxPage, SessionView, StatusView};
use crate::{Session, Shell, open_profile};

/// The commands, by name, for the invoke handler and for `build.rs`, which
/// grants exactly these to the window (see `capabilities/main.json`).
macro_rules! commands {
    ($($name:ident),* $(,)?) => {
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        #[cfg(test)]
        const HANDLED: &[&str] = &[$(stringify!($name)),*];
    };
}

commands!(
    session_info,
    sign_in,
    sign_out,
    status,
    inbox,
    lead,
    reasons,
    accept,
    reject,
    set_availability,
    set_quiet_hours,
    set_autostart,
    sync_now,
    review_load,
    review_cached,
    review_export,
    review_lead,
);

fn session(shell: &Shell) -> Result<Arc<Session>> {
    shell.session().ok_or(CoreError::NotSignedIn)
}

/// Lead ids come from the UI: one that does not fit the server's ids is
/// refused here rather than looked up.
fn lead_id(id: LeadId) -> Result<LeadId> {
    if id <= 0 {
        return Err(CoreError::InvalidInput(format!(
            "{id} is not a lead id: lead ids are positive numbers"
        )));
    }
    Ok(id)
}

fn session_view(app: &AppHandle, shell: &Shell, error: Option<String>) -> Result<SessionView> {
    let settings = shell.profile.settings()?;
    let quiet_hours = match shell.session() {
        Some(s) => s.engine.store().get_kv("quiet_hours")?,
        None => None,
    };
    Ok(SessionView {
        signed_in: settings.is_some() && shell.signed_in(),
        server: settings.as_ref().map(|s| s.server.clone()),
        role: settings.as_ref().map(|s| s.role),
        rep_name: settings.map(|s| s.rep_name),
        data_dir: shell.profile.dir.display().to_string(),
        quiet_hours,
        autostart: app.autolaunch().is_enabled().unwrap_or(false),
        error,
    })
}

#[tauri::command]
fn session_info(app: AppHandle, shell: State<'_, Shell>) -> Result<SessionView> {
    // A profile that is signed in but could not be opened (a corrupt cache,
    // a token the keychain lost) is reported, so the UI can say so.
    let error = match shell.profile.settings()? {
        Some(_) if !shell.signed_in() => open_profile(&app).err().map(|e| e.to_string()),
        _ => None,
    };
    session_view(&app, &shell, error)
}

#[tauri::command]
async fn sign_in(
    app: AppHandle,
    shell: State<'_, Shell>,
    server: String,
    token: String,
) -> Result<SessionView> {
    if shell.signed_in() {
        return Err(CoreError::InvalidInput(
            "already signed in: sign out first to change server or rep".into(),
        ));
    }
    shell
        .profile
        .sign_in_as(&server, &token, &[Role::Rep, Role::Manager])
        .await?;
    open_profile(&app)?;
    session_view(&app, &shell, None)
}

#[tauri::command]
fn sign_out(app: AppHandle, shell: State<'_, Shell>) -> Result<SessionView> {
    // Dropping the session stops the engine's loops before the cache goes.
    shell.end();
    shell.profile.sign_out()?;
    session_view(&app, &shell, None)
}

#[tauri::command]
fn status(shell: State<'_, Shell>) -> Result<StatusView> {
    let s = session(&shell)?;
    Ok(StatusView::read(&s.engine, s.engine.status()))
}

#[tauri::command]
async fn inbox(
    shell: State<'_, Shell>,
    filter: InboxFilter,
    search: Option<String>,
    offset: u32,
    limit: u32,
) -> Result<InboxPage> {
    let s = session(&shell)?;
    let limit = limit.clamp(1, 500);
    let status = match filter {
        InboxFilter::New => Some(LocalStatus::New),
        InboxFilter::Accepted => Some(LocalStatus::Accepted),
        InboxFilter::Rejected => Some(LocalStatus::Rejected),
        InboxFilter::All => None,
    };
    let search = search.filter(|q| !q.trim().is_empty());
    let total = if search.is_none() {
        let c = s.engine.counts()?;
        Some(match filter {
            InboxFilter::New => c.new,
            InboxFilter::Accepted => c.accepted,
            InboxFilter::Rejected => c.rejected,
            InboxFilter::All => c.new + c.accepted + c.rejected + c.taken_away,
        })
    } else {
        None
    };
    // One more than asked tells whether a search has more hits.
    let mut rows = s.engine.store().inbox(&InboxQuery {
        status,
        search,
        limit: limit + 1,
        offset,
    })?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(InboxPage {
        rows,
        offset,
        total,
        has_more,
    })
}

#[tauri::command]
fn lead(shell: State<'_, Shell>, id: LeadId) -> Result<LeadDetail> {
    let s = session(&shell)?;
    let id = lead_id(id)?;
    s.engine
        .store()
        .lead(id)?
        .ok_or(CoreError::LeadNotFound(id))
}

#[tauri::command]
async fn reasons(shell: State<'_, Shell>) -> Result<Vec<RejectReason>> {
    let s = session(&shell)?;
    s.engine.reasons().await
}

#[tauri::command]
fn accept(shell: State<'_, Shell>, id: LeadId) -> Result<LeadSummary> {
    let s = session(&shell)?;
    s.engine.accept(lead_id(id)?, None)
}

#[tauri::command]
fn reject(
    shell: State<'_, Shell>,
    id: LeadId,
    reason: String,
    note: Option<String>,
) -> Result<LeadSummary> {
    let s = session(&shell)?;
    s.engine.reject(lead_id(id)?, &reason, note)
}

#[tauri::command]
fn set_availability(shell: State<'_, Shell>, availability: Availability) -> Result<StatusView> {
    let s = session(&shell)?;
    s.engine.set_availability(availability)?;
    Ok(StatusView::read(&s.engine, s.engine.status()))
}

#[tauri::command]
fn set_quiet_hours(
    app: AppHandle,
    shell: State<'_, Shell>,
    window: Option<String>,
) -> Result<SessionView> {
    let s = session(&shell)?;
    let window = window.filter(|w| !w.trim().is_empty());
    s.engine.set_quiet_hours(window.as_deref().map(str::trim))?;
    session_view(&app, &shell, None)
}

#[tauri::command]
fn set_autostart(app: AppHandle, shell: State<'_, Shell>, enabled: bool) -> Result<SessionView> {
    let launcher = app.autolaunch();
    let done = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| CoreError::Profile(format!("cannot change start at login: {e}")))?;
    session_view(&app, &shell, None)
}

#[tauri::command]
async fn sync_now(shell: State<'_, Shell>) -> Result<StatusView> {
    let s = session(&shell)?;
    // A failed sync is already in the status (offline, last error); the
    // rep sees it there rather than as a second message.
    let _ = s.engine.sync_once().await;
    Ok(StatusView::read(&s.engine, s.engine.status()))
}

#[cfg(test)]
mod tests {
    /// `build.rs` grants the window the commands named in `command_names.rs`:
    /// that list and the handler's must be the same.
    #[test]
    fn every_handled_command_has_a_permission() {
        let names: &[&str] = include!("command_names.rs");
        assert_eq!(super::HANDLED, names);
    }
}

fn review_of(shell: &Shell) -> Result<Arc<Review>> {
    shell.review().ok_or_else(|| {
        CoreError::NotActionable(
            "the review is for managers: sign in with a manager's token".into(),
        )
    })
}

#[tauri::command]
async fn review_load(shell: State<'_, Shell>, query: ReviewQuery) -> Result<ReviewData> {
    review_of(&shell)?.load(&query).await
}

#[tauri::command]
fn review_cached(shell: State<'_, Shell>) -> Result<Option<ReviewData>> {
    let mut data = review_of(&shell)?.cached()?;
    if let Some(d) = data.as_mut() {
        d.offline = true;
    }
    Ok(data)
}

/// Saves a table of the last review loaded as CSV in the Downloads folder;
/// returns where.
#[tauri::command]
fn review_export(app: AppHandle, shell: State<'_, Shell>, table: ReviewTable) -> Result<String> {
    let data = review_of(&shell)?
        .cached()?
        .ok_or_else(|| CoreError::NotActionable("load a review before exporting it".into()))?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| CoreError::Profile(format!("no folder to save the export in: {e}")))?;
    let path = review::export(&dir, table, &review::csv(&data, table))?;
    Ok(path.display().to_string())
}

#[tauri::command]
async fn review_lead(shell: State<'_, Shell>, id: LeadId) -> Result<ReviewLead> {
    review_of(&shell)?.lead(lead_id(id)?).await
}
