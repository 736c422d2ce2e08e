//! Baton's desktop shell: Tauri commands and events over baton-core.
//!
//! Nothing here decides anything about leads: every command calls the
//! engine, the store or the profile, and every state change the engine
//! publishes is forwarded to the UI as a `status` event (the UI never polls).
//! The shell owns only what is about the desktop: the window, the tray, the
//! notifications' clicks, autostart, and opening an announced release's
//! page in the browser.

mod commands;
mod tray;
mod updates;
pub mod view;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use baton_core::engine::DESKTOP_UNDO_WINDOW;
use baton_core::notify::{DesktopNotifier, NotificationAction, Notifier};
use baton_core::review::Review;
use baton_core::{Engine, Profile};
use baton_protocol::Role;
use tauri::{AppHandle, Emitter, Manager, RunEvent, WindowEvent};
use tokio::sync::watch;

/// Event names the UI listens to.
pub mod events {
    /// A [`crate::view::StatusView`]: sync state, counts, cache version.
    pub const STATUS: &str = "status";
    /// A lead id: the rep clicked a notification (or its Open action); for
    /// a manager, a missed SLA's notification.
    pub const OPEN_LEAD: &str = "open-lead";
    /// A [`baton_core::engine::EngineEvent`]: the server refused a decision.
    pub const ENGINE: &str = "engine";
    /// A [`baton_core::updates::UpdateNotice`] or null: the server announces
    /// a newer desktop app (null: this one is current).
    pub const UPDATE: &str = "update";
}

/// Whether the tray icon exists (closing the window then hides it).
static TRAY: AtomicBool = AtomicBool::new(false);

/// A signed-in profile with its engine running.
pub(crate) struct Session {
    pub engine: Arc<Engine>,
    stop: watch::Sender<bool>,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A signed-in manager's review, with its escalation watch running.
pub(crate) struct ReviewSession {
    pub review: Arc<Review>,
    stop: watch::Sender<bool>,
}

impl Drop for ReviewSession {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub(crate) struct Shell {
    pub profile: Profile,
    /// A rep's engine, when a rep is signed in.
    pub session: Mutex<Option<Arc<Session>>>,
    /// A manager's review, when a manager is signed in.
    pub review: Mutex<Option<ReviewSession>>,
    /// Held while the signed-in profile is being opened, so start-up and a
    /// window asking at the same time open it once.
    pub opening: tokio::sync::Mutex<()>,
    /// The newer release the server announces, if any.
    pub update: Mutex<Option<baton_core::updates::UpdateNotice>>,
    /// Asks the update check to run now (after a sign-in: a new server).
    pub recheck_update: watch::Sender<()>,
}

impl Shell {
    pub fn session(&self) -> Option<Arc<Session>> {
        self.session.lock().expect("session lock").clone()
    }

    pub fn review(&self) -> Option<Arc<Review>> {
        self.review
            .lock()
            .expect("review lock")
            .as_ref()
            .map(|s| s.review.clone())
    }

    pub fn signed_in(&self) -> bool {
        self.session().is_some() || self.review().is_some()
    }

    /// Stops the engine (or drops the review) of whoever is signed in.
    pub fn end(&self) {
        self.session.lock().expect("session lock").take();
        self.review.lock().expect("review lock").take();
    }
}

/// Opens the signed-in profile, unless it is open or nobody is signed in:
/// a rep's engine, or a manager's review. Reading the token may wait on the
/// keychain (its unlock prompt, or a service that never answers), so this
/// runs on a blocking thread and the window keeps drawing meanwhile.
pub(crate) async fn ensure_open(app: &AppHandle) -> baton_core::Result<()> {
    let shell = app.state::<Shell>();
    let _one_at_a_time = shell.opening.lock().await;
    if shell.signed_in() {
        return Ok(());
    }
    let opener = app.clone();
    tauri::async_runtime::spawn_blocking(move || open_profile(&opener))
        .await
        .map_err(|e| baton_core::CoreError::Profile(format!("cannot open the profile: {e}")))?
}

fn open_profile(app: &AppHandle) -> baton_core::Result<()> {
    let shell = app.state::<Shell>();
    let Some(settings) = shell.profile.settings()? else {
        return Ok(());
    };
    match settings.role {
        Role::Manager => start_review(app),
        _ => start_session(app),
    }
}

/// Desktop notifications whose clicks come back to the window.
fn desktop_notifier(app: &AppHandle) -> Arc<dyn Notifier> {
    Arc::new(DesktopNotifier::new(Arc::new({
        let app = app.clone();
        move |action| on_notification_action(&app, action)
    })))
}

/// Opens a manager's review and starts watching their teams' missed SLAs
/// (a desktop notification for each new one while the app runs).
fn start_review(app: &AppHandle) -> baton_core::Result<()> {
    let shell = app.state::<Shell>();
    let review = Arc::new(Review::open(&shell.profile)?);
    let (stop, stopped) = watch::channel(false);
    tauri::async_runtime::spawn(
        review
            .clone()
            .watch_escalations(desktop_notifier(app), stopped),
    );
    *shell.review.lock().expect("review lock") = Some(ReviewSession { review, stop });
    Ok(())
}

/// Opens the profile's engine, starts its loops and forwards its state.
fn start_session(app: &AppHandle) -> baton_core::Result<()> {
    let shell = app.state::<Shell>();
    let engine = Engine::open(&shell.profile, Some(desktop_notifier(app)))?;
    engine.set_undo_window(DESKTOP_UNDO_WINDOW);
    let (stop, stopped) = watch::channel(false);
    let session = Arc::new(Session {
        engine: engine.clone(),
        stop,
    });
    *shell.session.lock().expect("session lock") = Some(session);
    tauri::async_runtime::spawn(engine.clone().run(stopped.clone()));
    tauri::async_runtime::spawn(forward_events(app.clone(), engine.clone(), stopped.clone()));
    tauri::async_runtime::spawn(forward_status(app.clone(), engine, stopped));
    Ok(())
}

/// Sends the engine's events (refusals) to the UI as they happen.
async fn forward_events(app: AppHandle, engine: Arc<Engine>, mut stopped: watch::Receiver<bool>) {
    let mut events = engine.events();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(e) => {
                    if let Err(err) = app.emit(events::ENGINE, &e) {
                        tracing::warn!(error = %err, "cannot send an event to the window");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the window missed engine events");
                }
                Err(_) => return,
            },
            _ = stopped.changed() => return,
        }
    }
}

/// Sends every engine state change to the UI and the tray.
async fn forward_status(app: AppHandle, engine: Arc<Engine>, mut stopped: watch::Receiver<bool>) {
    let mut status = engine.subscribe();
    loop {
        status.borrow_and_update();
        match view::StatusView::load(&engine).await {
            Ok(view) => {
                tray::show_count(&app, view.counts.new);
                if let Err(e) = app.emit(events::STATUS, &view) {
                    tracing::warn!(error = %e, "cannot send the status to the window");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the inbox counts"),
        }
        tokio::select! {
            changed = status.changed() => if changed.is_err() { return },
            _ = stopped.changed() => return,
        }
    }
}

pub(crate) fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

fn on_notification_action(app: &AppHandle, action: NotificationAction) {
    match action {
        NotificationAction::Open(lead) => {
            show_window(app);
            let _ = app.emit(events::OPEN_LEAD, lead);
        }
        NotificationAction::Accept(lead) => {
            let Some(session) = app.state::<Shell>().session() else {
                return;
            };
            // The same path as the window's accept: durable now, sent when
            // its undo window ends (the window shows it with its Undo).
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = session.engine.accept(lead, None).await {
                    // The notification is gone; show the lead so the rep sees why.
                    tracing::warn!(lead, error = %e, "accept from a notification failed");
                    show_window(&app);
                    let _ = app.emit(events::OPEN_LEAD, lead);
                }
            });
        }
    }
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,baton=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let profile = match Profile::resolve(std::env::var_os("BATON_DATA_DIR").map(Into::into)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("baton-desktop: {e}");
            std::process::exit(2);
        }
    };

    let (recheck_update, recheck) = watch::channel(());
    let app = tauri::Builder::default()
        // First, so a second launch only raises the running window.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_window(app);
        }))
        // Size, position and maximised state persist; visibility does not,
        // or quitting from the tray would start the next session hidden.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(Shell {
            profile,
            session: Mutex::new(None),
            review: Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
            update: Mutex::new(None),
            recheck_update,
        })
        .setup(|app| {
            // A desktop without a tray still gets the window; closing it
            // then quits, since nothing would be left to reopen it from.
            match tray::build(app.handle()) {
                Ok(()) => TRAY.store(true, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "no tray icon: closing the window quits"),
            }
            updates::start(app.handle(), recheck);
            // Opened beside the window, not before it: the keychain may take
            // its time. The window's first `session_info` waits for this.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = ensure_open(&handle).await {
                    // The UI shows the sign-in screen with this error.
                    tracing::warn!(error = %e, "cannot open the signed-in profile");
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Baton in the tray: leads keep arriving.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == "main"
                && TRAY.load(Ordering::Relaxed)
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .invoke_handler(commands::handler())
        .build(tauri::generate_context!())
        .expect("the Tauri app builds");

    app.run(|app, event| {
        if let RunEvent::ExitRequested { .. } = event {
            // Stop the engine's loops before the runtime goes away.
            app.state::<Shell>().end();
        }
    });
}
