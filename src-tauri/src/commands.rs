//! The commands the UI invokes. Each is a thin call into baton-core; errors
//! cross IPC as baton-core's `{code, message}`.

use std::sync::Arc;

use baton_core::api::FormAnswer;
use baton_core::review::{
    self, CsvFile, CsvImport, FailureQuery, ImportOptions, Review, ReviewData, ReviewLead,
    ReviewQuery, ReviewTable, TeamOverview, WebhookCreation,
};
use baton_core::schedule::ScheduleView;
use baton_core::store::{InboxQuery, LocalStatus};
use baton_core::{CoreError, LeadDetail, LeadSummary, Result};
use baton_protocol::{
    AuditLog, Availability, Definition, DefinitionDraft, DefinitionList, DefinitionPreview,
    IntakeReceipt, IntakeReceiptList, LeadId, Manager, ManagerList, ManagerScope, NewRep,
    NewWebhook, PreviewRequest, RejectReason, Rep, RepCreated, RepUpdate, Role,
    SourceIntakeResponse, VersionOutcomes, WebhookDelivery, WebhookDeliveryList, WebhookList,
    WorkSchedule,
};
use tauri::Manager as _;
use tauri::{AppHandle, State, Wry};
use tauri_plugin_autostart::ManagerExt;

use crate::view::{InboxFilter, InboxPage, SessionView, StatusView};
use crate::{Session, Shell, ensure_open};

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
    undo,
    set_availability,
    set_quiet_hours,
    set_autostart,
    sync_now,
    review_load,
    review_cached,
    review_export,
    review_lead,
    intake_failures,
    retry_intake,
    dismiss_intake,
    webhooks_list,
    webhook_create,
    webhook_delete,
    webhook_deliveries,
    webhook_replay,
    import_csv,
    lead_definition,
    my_schedule,
    set_my_schedule,
    definitions_list,
    definition_preview,
    definition_publish,
    definition_outcomes,
    team_overview,
    rep_create,
    rep_update,
    rep_schedule,
    managers_list,
    manager_scope,
    audit_log,
    update_notice,
    open_update,
);

// Every command is `async`: Tauri runs it on its async runtime, never on the
// thread that draws the window, and what blocks (the cache, files, the
// keychain) runs on blocking threads below it.

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

async fn session_view(app: &AppHandle, error: Option<String>) -> Result<SessionView> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let shell = app.state::<Shell>();
        let settings = shell.profile.settings()?;
        let quiet_hours = shell
            .session()
            .and_then(|s| s.engine.quiet_hours_setting())
            .map(|q| q.to_string());
        let token_notice = settings
            .as_ref()
            .and_then(|s| s.token_notice(&shell.profile.token_path()));
        Ok(SessionView {
            signed_in: settings.is_some() && shell.signed_in(),
            server: settings.as_ref().map(|s| s.server.clone()),
            role: settings.as_ref().map(|s| s.role),
            rep_name: settings.map(|s| s.rep_name),
            data_dir: shell.profile.dir.display().to_string(),
            quiet_hours,
            autostart: app.autolaunch().is_enabled().unwrap_or(false),
            token_notice,
            error,
        })
    })
    .await
    .map_err(|e| CoreError::Profile(format!("cannot read the profile: {e}")))?
}

#[tauri::command]
async fn session_info(app: AppHandle) -> Result<SessionView> {
    // A profile that is signed in but could not be opened (a corrupt cache,
    // a token the keychain lost) is reported, so the UI can say so.
    let error = ensure_open(&app).await.err().map(|e| e.to_string());
    session_view(&app, error).await
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
    ensure_open(&app).await?;
    // A new server may announce a newer app.
    let _ = shell.recheck_update.send(());
    session_view(&app, None).await
}

#[tauri::command]
async fn sign_out(app: AppHandle, shell: State<'_, Shell>) -> Result<SessionView> {
    // Decisions still in their undo window, or waiting for the network,
    // would go with the cache: send them first, or keep the profile.
    if let Some(s) = shell.session() {
        let waiting = s.engine.flush().await?;
        if waiting > 0 {
            return Err(CoreError::NotActionable(format!(
                "{waiting} of your decisions have not reached the server yet: sign out once Baton is online and they are sent"
            )));
        }
    }
    // Dropping the session stops the engine's loops before the cache goes.
    shell.end();
    let profile = shell.profile.clone();
    tauri::async_runtime::spawn_blocking(move || profile.sign_out())
        .await
        .map_err(|e| CoreError::Profile(format!("cannot sign out: {e}")))??;
    session_view(&app, None).await
}

#[tauri::command]
async fn status(shell: State<'_, Shell>) -> Result<StatusView> {
    let s = session(&shell)?;
    StatusView::load(&s.engine).await
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
        let c = s.engine.inbox_counts().await?;
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
    let mut rows = s
        .engine
        .inbox(InboxQuery {
            status,
            search,
            limit: limit + 1,
            offset,
        })
        .await?;
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
async fn lead(shell: State<'_, Shell>, id: LeadId) -> Result<LeadDetail> {
    let s = session(&shell)?;
    s.engine.lead(lead_id(id)?).await
}

#[tauri::command]
async fn reasons(shell: State<'_, Shell>) -> Result<Vec<RejectReason>> {
    let s = session(&shell)?;
    s.engine.reasons().await
}

/// Decisions are durable at the keypress; the engine sends them when their
/// undo window ends.
#[tauri::command]
async fn accept(shell: State<'_, Shell>, id: LeadId) -> Result<LeadSummary> {
    let s = session(&shell)?;
    s.engine.accept(lead_id(id)?, None).await
}

#[tauri::command]
async fn reject(
    shell: State<'_, Shell>,
    id: LeadId,
    reason: String,
    note: Option<String>,
) -> Result<LeadSummary> {
    let s = session(&shell)?;
    s.engine.reject(lead_id(id)?, &reason, note).await
}

#[tauri::command]
async fn undo(shell: State<'_, Shell>, id: LeadId) -> Result<LeadSummary> {
    let s = session(&shell)?;
    s.engine.undo(lead_id(id)?).await
}

#[tauri::command]
async fn set_availability(
    shell: State<'_, Shell>,
    availability: Availability,
) -> Result<StatusView> {
    let s = session(&shell)?;
    s.engine.set_availability(availability).await?;
    StatusView::load(&s.engine).await
}

#[tauri::command]
async fn set_quiet_hours(
    app: AppHandle,
    shell: State<'_, Shell>,
    window: Option<String>,
) -> Result<SessionView> {
    let s = session(&shell)?;
    let window = window
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty());
    s.engine.save_quiet_hours(window).await?;
    session_view(&app, None).await
}

#[tauri::command]
async fn set_autostart(app: AppHandle, enabled: bool) -> Result<SessionView> {
    let launcher = app.autolaunch();
    let done = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| CoreError::Profile(format!("cannot change start at login: {e}")))?;
    session_view(&app, None).await
}

/// A version of the definition a lead qualified under (for its read-only
/// view): from the cache, fetched when the cache does not hold it.
#[tauri::command]
async fn lead_definition(shell: State<'_, Shell>, version: u32) -> Result<Definition> {
    let s = session(&shell)?;
    s.engine.definition(version).await
}

/// The rep's own working hours and absences.
#[tauri::command]
async fn my_schedule(shell: State<'_, Shell>) -> Result<ScheduleView> {
    let s = session(&shell)?;
    s.engine.my_schedule().await
}

/// Sets (or with `null` clears) the rep's own hours and absences; a field
/// the server refuses is an answer (`invalid`), not an error.
#[tauri::command]
async fn set_my_schedule(
    shell: State<'_, Shell>,
    schedule: Option<WorkSchedule>,
) -> Result<FormAnswer<ScheduleView>> {
    let s = session(&shell)?;
    s.engine.set_my_schedule(schedule).await
}

#[tauri::command]
async fn sync_now(shell: State<'_, Shell>) -> Result<StatusView> {
    let s = session(&shell)?;
    // A failed sync is already in the status (offline, last error); the
    // rep sees it there rather than as a second message.
    let _ = s.engine.sync_once().await;
    StatusView::load(&s.engine).await
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

    /// The window sends the import's options as ASCII JSON in a header:
    /// a column named outside ASCII arrives as it was typed.
    #[test]
    fn import_options_arrive_from_their_header_with_any_header_name() {
        use baton_core::review::ImportField;
        let mut headers = tauri::http::HeaderMap::new();
        assert!(super::import_options(&headers).is_err());
        headers.insert(
            super::IMPORT_OPTIONS_HEADER,
            tauri::http::HeaderValue::from_static(
                r#"{"source":"fair","dry_run":true,"no_route":false,"mapping":[{"field":"company","header":"Soci\u00e9t\u00e9 \ud83c\udfe2"}],"score_max":null}"#,
            ),
        );
        let options = super::import_options(&headers).unwrap();
        assert_eq!(options.source, "fair");
        assert!(options.dry_run && !options.no_route);
        assert_eq!(options.mapping[0].field, ImportField::Company);
        assert_eq!(options.mapping[0].header, "Société 🏢");
        assert_eq!(options.channel, None);
        // The window names the header as the shell does.
        let ui = include_str!("../../ui/src/lib/tauri.ts");
        assert!(
            ui.contains(&format!(
                "IMPORT_OPTIONS_HEADER = \"{}\"",
                super::IMPORT_OPTIONS_HEADER
            )),
            "ui/src/lib/tauri.ts sends the import's options in another header"
        );
    }

    /// …and the window's capability must grant each one, or the window
    /// gets "not allowed by ACL" for a command the shell handles.
    #[test]
    fn the_window_is_granted_every_command() {
        let names: &[&str] = include!("command_names.rs");
        let capability = include_str!("../capabilities/main.json");
        for name in names {
            let permission = format!("\"allow-{}\"", name.replace('_', "-"));
            assert!(
                capability.contains(&permission),
                "capabilities/main.json does not grant {permission}"
            );
        }
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
async fn review_cached(shell: State<'_, Shell>) -> Result<Option<ReviewData>> {
    let review = review_of(&shell)?;
    let mut data = tauri::async_runtime::spawn_blocking(move || review.cached())
        .await
        .map_err(|e| CoreError::Profile(format!("cannot read the saved review: {e}")))??;
    if let Some(d) = data.as_mut() {
        d.offline = true;
    }
    Ok(data)
}

/// Saves a table of the last review loaded as CSV in the Downloads folder;
/// returns where.
#[tauri::command]
async fn review_export(
    app: AppHandle,
    shell: State<'_, Shell>,
    table: ReviewTable,
) -> Result<String> {
    let review = review_of(&shell)?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| CoreError::Profile(format!("no folder to save the export in: {e}")))?;
    tauri::async_runtime::spawn_blocking(move || {
        let data = review
            .cached()?
            .ok_or_else(|| CoreError::NotActionable("load a review before exporting it".into()))?;
        let path = review::export(&dir, table, &review::csv(&data, table))?;
        Ok(path.display().to_string())
    })
    .await
    .map_err(|e| CoreError::Profile(format!("cannot export: {e}")))?
}

#[tauri::command]
async fn review_lead(shell: State<'_, Shell>, id: LeadId) -> Result<ReviewLead> {
    review_of(&shell)?.lead(lead_id(id)?).await
}

/// Failed intakes (deliveries from inbound sources that could not be
/// mapped to a lead), newest first.
#[tauri::command]
async fn intake_failures(
    shell: State<'_, Shell>,
    query: FailureQuery,
) -> Result<IntakeReceiptList> {
    review_of(&shell)?.intake_failures(&query).await
}

/// Maps a failed intake again; still failing is an answer, not an error.
#[tauri::command]
async fn retry_intake(shell: State<'_, Shell>, id: i64) -> Result<SourceIntakeResponse> {
    review_of(&shell)?.retry_intake(id).await
}

#[tauri::command]
async fn dismiss_intake(shell: State<'_, Shell>, id: i64) -> Result<IntakeReceipt> {
    review_of(&shell)?.dismiss_intake(id).await
}

/// The endpoints the server sends its outbound events to.
#[tauri::command]
async fn webhooks_list(shell: State<'_, Shell>) -> Result<WebhookList> {
    review_of(&shell)?.webhooks().await
}

/// Registers an endpoint; the answer holds its signing secret, shown once.
/// A field the server refuses is an answer (`invalid`), not an error.
#[tauri::command]
async fn webhook_create(shell: State<'_, Shell>, webhook: NewWebhook) -> Result<WebhookCreation> {
    review_of(&shell)?.create_webhook(&webhook).await
}

#[tauri::command]
async fn webhook_delete(shell: State<'_, Shell>, id: i64) -> Result<()> {
    review_of(&shell)?.delete_webhook(id).await
}

/// One endpoint's deliveries, newest first.
#[tauri::command]
async fn webhook_deliveries(
    shell: State<'_, Shell>,
    id: i64,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<WebhookDeliveryList> {
    review_of(&shell)?
        .webhook_deliveries(id, before, limit)
        .await
}

/// Sends a delivery again; refused (`conflict`) when its endpoint was disabled.
#[tauri::command]
async fn webhook_replay(
    shell: State<'_, Shell>,
    id: i64,
    delivery: i64,
) -> Result<WebhookDelivery> {
    review_of(&shell)?.replay_delivery(id, delivery).await
}

/// The header `import_csv`'s options travel in, as JSON (non-ASCII
/// characters `\u`-escaped, as header values must be ASCII).
const IMPORT_OPTIONS_HEADER: &str = "baton-import-options";

/// Imports a CSV file of leads (a dry run writes nothing). The window has
/// no file system access and no dialog plugin: its file input reads the
/// file, and sends the bytes as this request's raw body (no JSON or base64
/// on the way), with the options in the `baton-import-options` header. A
/// control the server refuses is an answer (`invalid`), not an error.
#[tauri::command]
async fn import_csv(
    shell: State<'_, Shell>,
    request: tauri::ipc::Request<'_>,
) -> Result<CsvImport> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(CoreError::InvalidInput(
            "send the CSV file's bytes as the request's body".into(),
        ));
    };
    let options = import_options(request.headers())?;
    let review = review_of(&shell)?;
    // A copy: the request only lends its body, and the upload outlives it.
    review
        .import_csv(CsvFile::Bytes(bytes.clone()), &options)
        .await
}

/// The options `import_csv` was sent in its header.
fn import_options(headers: &tauri::http::HeaderMap) -> Result<ImportOptions> {
    let options = headers.get(IMPORT_OPTIONS_HEADER).ok_or_else(|| {
        CoreError::InvalidInput(format!(
            "the import's options are missing ({IMPORT_OPTIONS_HEADER})"
        ))
    })?;
    serde_json::from_slice(options.as_bytes())
        .map_err(|e| CoreError::InvalidInput(format!("the import's options: {e}")))
}

/// Every version of the definition, newest first, and the one in force.
#[tauri::command]
async fn definitions_list(shell: State<'_, Shell>) -> Result<DefinitionList> {
    review_of(&shell)?.definitions().await
}

/// What a proposed threshold would have done over a past period.
#[tauri::command]
async fn definition_preview(
    shell: State<'_, Shell>,
    team: Option<String>,
    request: PreviewRequest,
) -> Result<FormAnswer<DefinitionPreview>> {
    review_of(&shell)?
        .preview_definition(team.as_deref(), &request)
        .await
}

/// Publishes a new version (the server refuses anyone but an admin).
#[tauri::command]
async fn definition_publish(
    shell: State<'_, Shell>,
    draft: DefinitionDraft,
) -> Result<FormAnswer<Definition>> {
    review_of(&shell)?.publish_definition(&draft).await
}

/// Acceptance, reasons and speed under each version.
#[tauri::command]
async fn definition_outcomes(
    shell: State<'_, Shell>,
    team: Option<String>,
) -> Result<VersionOutcomes> {
    review_of(&shell)?
        .definition_outcomes(team.as_deref())
        .await
}

/// The signed-in manager, the teams they manage and those teams' reps.
#[tauri::command]
async fn team_overview(shell: State<'_, Shell>) -> Result<TeamOverview> {
    review_of(&shell)?.team_overview().await
}

/// Adds a rep; the answer holds their token, shown once.
#[tauri::command]
async fn rep_create(shell: State<'_, Shell>, rep: NewRep) -> Result<FormAnswer<RepCreated>> {
    review_of(&shell)?.create_rep(&rep).await
}

/// Changes a rep's team, weight or cap, or deactivates them.
#[tauri::command]
async fn rep_update(
    shell: State<'_, Shell>,
    id: i64,
    change: RepUpdate,
) -> Result<FormAnswer<Rep>> {
    review_of(&shell)?.update_rep(id, &change).await
}

/// Sets (or with `null` clears) a rep's hours and absences.
#[tauri::command]
async fn rep_schedule(
    shell: State<'_, Shell>,
    id: i64,
    schedule: Option<WorkSchedule>,
) -> Result<FormAnswer<Rep>> {
    review_of(&shell)?.set_rep_schedule(id, schedule).await
}

/// Every manager and their scope (admins only).
#[tauri::command]
async fn managers_list(shell: State<'_, Shell>) -> Result<ManagerList> {
    review_of(&shell)?.managers().await
}

/// An admin makes a manager an admin, or sets the teams they manage.
#[tauri::command]
async fn manager_scope(
    shell: State<'_, Shell>,
    id: i64,
    scope: ManagerScope,
) -> Result<FormAnswer<Manager>> {
    review_of(&shell)?.set_manager_scope(id, &scope).await
}

/// Administrative changes, newest first (admins only).
#[tauri::command]
async fn audit_log(
    shell: State<'_, Shell>,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<AuditLog> {
    review_of(&shell)?.audit(before, limit).await
}

/// The newer release the server announces, if any (also sent as the
/// `update` event whenever a check answers).
#[tauri::command]
async fn update_notice(
    shell: State<'_, Shell>,
) -> Result<Option<baton_core::updates::UpdateNotice>> {
    Ok(shell.update.lock().expect("update lock").clone())
}

/// Opens the announced release's download or notes page in the browser.
/// The window names which; the address itself comes from the notice the
/// shell holds, never from the window.
#[tauri::command]
async fn open_update(shell: State<'_, Shell>, link: crate::updates::UpdateLink) -> Result<()> {
    let notice = shell.update.lock().expect("update lock").clone();
    crate::updates::open(notice.as_ref(), link)
}
