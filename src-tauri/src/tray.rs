//! The tray icon: the count of new leads, and Baton stays there when its
//! window is closed.

use tauri::AppHandle;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};

const TRAY_ID: &str = "baton";

pub fn build(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Baton", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Baton", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Baton")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::show_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::show_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Shows the number of leads awaiting a decision beside the icon (where the
/// platform draws a label) and in its tooltip.
pub fn show_count(app: &AppHandle, new: u32) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let tip = match new {
        0 => "Baton: no new leads".to_string(),
        1 => "Baton: 1 new lead".to_string(),
        n => format!("Baton: {n} new leads"),
    };
    let _ = tray.set_tooltip(Some(&tip));
    let _ = tray.set_title((new > 0).then(|| new.to_string()));
}
