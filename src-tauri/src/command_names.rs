// The commands the UI may invoke, for build.rs (permissions) and a test that
// holds this list to the handler in commands.rs.
&[
    "session_info",
    "sign_in",
    "sign_out",
    "status",
    "inbox",
    "lead",
    "reasons",
    "accept",
    "reject",
    "undo",
    "set_availability",
    "set_quiet_hours",
    "set_autostart",
    "sync_now",
    "review_load",
    "review_cached",
    "review_export",
    "review_lead",
]
