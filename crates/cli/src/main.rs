//! `baton`: the headless Baton client. Every command is a thin shell over
//! baton-core; output is a readable table, or JSON with `--json`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use baton_core::engine::Problem;
use baton_core::notify::{DesktopNotifier, NotificationAction, Notifier};
use baton_core::profile::TokenStore;
use baton_core::{CoreError, Engine, InboxQuery, LeadSummary, LocalStatus, Profile};
use baton_protocol::{Availability, Timestamp, WireName};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton for the terminal: your routed leads, why they came to you, and your decisions"
)]
struct Cli {
    /// Profile directory (cache, server and token); default ~/.local/share/baton/default.
    #[arg(long, global = true, env = "BATON_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusFilter {
    New,
    Accepted,
    Rejected,
    #[value(name = "taken_away", alias = "taken-away")]
    TakenAway,
    All,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in: checks the token with the server and stores it in the OS keychain.
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        token: String,
    },
    /// Sign out: forget the token and delete this profile's cache.
    Logout,
    /// Send waiting decisions, then fetch every change since the last sync.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Stay connected: print and notify new leads as they are assigned.
    Watch {
        /// Print only; raise no desktop notifications.
        #[arg(long)]
        no_notify: bool,
    },
    /// List leads, most urgent first.
    Inbox {
        #[arg(long, value_enum, default_value = "new")]
        status: StatusFilter,
        /// Words to find in name, company, email, title, quiz answers and notes.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one lead: contact, source, score breakdown, quiz, behaviours, intent, why it came to you, history.
    Show {
        lead: i64,
        #[arg(long)]
        json: bool,
    },
    /// Accept a lead (saved at once; sent now or as soon as the server is reachable).
    Accept {
        lead: i64,
        #[arg(long)]
        note: Option<String>,
        /// Seconds to wait before sending, during which `baton undo LEAD` takes it back.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60))]
        undo: u64,
    },
    /// Reject a lead with a reason code (see `baton reasons`).
    Reject {
        lead: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        note: Option<String>,
        /// Seconds to wait before sending, during which `baton undo LEAD` takes it back.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60))]
        undo: u64,
    },
    /// Take back a decision made with `--undo` before it is sent.
    Undo { lead: i64 },
    /// The server's rejection reasons.
    Reasons {
        #[arg(long)]
        json: bool,
    },
    /// Sync state, outbox depth, last error, inbox counts.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop receiving leads.
    Away,
    /// Start receiving leads again.
    Available,
    /// Set or clear the daily window without notifications, e.g. 22:00-07:00.
    QuietHours {
        /// The window, or `off`.
        window: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Lead content is untrusted: never let it move the cursor or recolour a terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn fit(s: &str, width: usize) -> String {
    let s = clean(s);
    if s.chars().count() <= width {
        format!("{s:<width$}")
    } else {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn ago(t: Timestamp, now: Timestamp) -> String {
    let mins = (now.millis() - t.millis()) / 60_000;
    match mins {
        m if m < 1 => "just now".into(),
        m if m < 120 => format!("{m} min ago"),
        m if m < 48 * 60 => format!("{} h ago", m / 60),
        m => format!("{} days ago", m / (24 * 60)),
    }
}

fn sla_left(due: Timestamp, now: Timestamp) -> String {
    let secs = (due.millis() - now.millis()) / 1000;
    match secs {
        s if s <= 0 => "SLA passed".into(),
        s if s < 120 => format!("SLA in {s} s"),
        s => format!("SLA in {} min", s / 60),
    }
}

fn status_word(s: &LeadSummary) -> String {
    use baton_core::store::DecisionState;
    let base = s.status.as_str().replace('_', " ");

    match s.decision_state {
        Some(DecisionState::Pending) => format!("{base} (sending)"),
        Some(DecisionState::Refused) => "refused by server".into(),
        _ => base,
    }
}

fn print_inbox(rows: &[LeadSummary]) {
    let now = Timestamp::now();
    println!(
        "{:<7} {:>5}  {:<24} {:<22} {:<16} {:<26} STATUS",
        "ID", "SCORE", "NAME", "COMPANY", "SOURCE", "ASSIGNED"
    );
    for r in rows {
        let timing = match (r.assigned_at, r.sla_due_at, r.status) {
            (Some(a), Some(d), LocalStatus::New) => {
                format!("{} · {}", ago(a, now), sla_left(d, now))
            }
            (Some(a), _, _) => ago(a, now),
            _ => String::new(),
        };
        println!(
            "{:<7} {:>5}  {} {} {} {} {}",
            r.id,
            r.score,
            fit(&r.name, 24),
            fit(r.company.as_deref().unwrap_or("—"), 22),
            fit(&r.channel, 16),
            fit(&timing, 26),
            status_word(r)
        );
    }
    if rows.is_empty() {
        println!("(no leads)");
    }
}

fn json_out<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn open(profile: &Profile, notifier: Option<Arc<dyn Notifier>>) -> anyhow::Result<Arc<Engine>> {
    Ok(Engine::open(profile, notifier)?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let profile = Profile::resolve(cli.data_dir)?;
    match cli.command {
        Command::Login { server, token } => {
            let (me, store) = profile.sign_in(&server, &token).await?;
            let server = profile.settings()?.map(|p| p.server).unwrap_or(server);
            let team = me
                .team
                .as_ref()
                .map(|t| format!(" (team {})", t.name))
                .unwrap_or_default();
            println!("Signed in to {server} as {}{team}.", clean(&me.name));
            match store {
                TokenStore::Keychain => println!("Token stored in the OS keychain."),
                TokenStore::File => eprintln!(
                    "warning: no OS keychain service is available; the token is stored in {} (readable only by you)",
                    profile.dir.join("token").display()
                ),
            }
            Ok(())
        }
        Command::Logout => {
            // Decisions not yet on the server would go with the cache: send
            // them first (undo windows or not), or keep the profile.
            // A profile that cannot be opened (its token lost) could not
            // send them anyway: it is signed out as before.
            if profile.settings()?.is_some()
                && let Ok(engine) = open(&profile, None)
            {
                let waiting = engine.flush().await?;
                drop(engine);
                if waiting > 0 {
                    anyhow::bail!(
                        "{waiting} of your decisions have not reached the server yet; run `baton sync` once the server is reachable, then log out (nothing was deleted)"
                    );
                }
            }
            profile.sign_out()?;
            println!("Signed out; this profile's cache is deleted.");
            Ok(())
        }
        Command::Sync { json } => {
            let engine = open(&profile, None)?;
            let pushed = engine.push().await;
            let pulled = engine.pull().await?;
            let pushed = pushed?;
            if json {
                return json_out(&serde_json::json!({"pushed": pushed, "pulled": pulled}));
            }
            println!(
                "Synced: {} changes, {} new leads, {} taken away; {} decisions sent, {} refused, {} waiting.",
                pulled.changes,
                pulled.new_leads,
                pulled.taken_away,
                pushed.sent,
                pushed.refused,
                pushed.pending
            );
            Ok(())
        }
        Command::Watch { no_notify } => watch(profile, no_notify).await,
        Command::Inbox {
            status,
            search,
            limit,
            json,
        } => {
            let engine = open(&profile, None)?;
            let status = match status {
                StatusFilter::New => Some(LocalStatus::New),
                StatusFilter::Accepted => Some(LocalStatus::Accepted),
                StatusFilter::Rejected => Some(LocalStatus::Rejected),
                StatusFilter::TakenAway => Some(LocalStatus::TakenAway),
                StatusFilter::All => None,
            };
            let rows = engine
                .inbox(InboxQuery {
                    status,
                    search,
                    limit,
                    offset: 0,
                })
                .await?;
            if json {
                return json_out(&rows);
            }
            print_inbox(&rows);
            Ok(())
        }
        Command::Show { lead, json } => {
            let engine = open(&profile, None)?;
            // The definition the lead qualified under, fetched if this
            // profile has not seen it (and the server can be reached).
            let detail = engine.lead_with_definition(lead).await?;
            if json {
                return json_out(&detail);
            }
            print!("{}", lead_text(&detail, Timestamp::now()));
            Ok(())
        }
        Command::Accept { lead, note, undo } => {
            let engine = open(&profile, None)?;
            engine.set_undo_window(Duration::from_secs(undo));
            engine.accept(lead, note).await?;
            report_send(&engine, lead, "Accepted", undo).await
        }
        Command::Reject {
            lead,
            reason,
            note,
            undo,
        } => {
            let engine = open(&profile, None)?;
            // Refresh the reason list when the server is reachable.
            let _ = engine.reasons().await;
            engine.set_undo_window(Duration::from_secs(undo));
            engine.reject(lead, &reason, note).await?;
            report_send(&engine, lead, "Rejected", undo).await
        }
        Command::Undo { lead } => {
            let engine = open(&profile, None)?;
            engine.undo(lead).await?;
            println!(
                "Took back your decision on lead {lead}: nothing was sent; it awaits your decision again."
            );
            Ok(())
        }
        Command::Reasons { json } => {
            let engine = open(&profile, None)?;
            let reasons = engine.reasons().await?;
            if json {
                return json_out(&reasons);
            }
            for r in reasons {
                let mut flags = Vec::new();
                if r.note_required {
                    flags.push("note required");
                }
                if r.routes_on {
                    flags.push("routes to another rep");
                }
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", flags.join(", "))
                };
                println!("{:<22} {}{flags}", r.code, clean(&r.label));
            }
            Ok(())
        }
        Command::Status { json } => {
            let settings = profile.settings()?.ok_or(CoreError::NotSignedIn)?;
            let engine = open(&profile, None)?;
            let reachable = engine.me().await;
            let status = engine.status();
            let counts = engine.counts()?;
            // The problem of this check, else the last exchange's (a sync
            // that failed through a proxy while `me` got through).
            let problem = match &reachable {
                Ok(_) => status.problem.clone(),
                Err(e) => Some(Problem::of(e)),
            };
            let connection = match &reachable {
                Ok(_) => "online",
                Err(e) => Problem::of(e).kind.as_str(),
            };
            if json {
                return json_out(&serde_json::json!({
                    "server": settings.server,
                    "rep": settings.rep_name,
                    "connection": connection,
                    "problem": problem,
                    "last_sync": status.last_success,
                    "last_error": status.problem.as_ref().map(|p| &p.message),
                    "outbox": status.outbox_depth,
                    "undoable": status.undoable,
                    "counts": counts,
                }));
            }
            println!(
                "Server:      {} ({})",
                settings.server,
                connection.replace('_', " ")
            );
            println!("Signed in:   {}", clean(&settings.rep_name));
            println!(
                "Last sync:   {}",
                status
                    .last_success
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "never".into())
            );
            println!(
                "Outbox:      {} decisions waiting to be sent",
                status.outbox_depth
            );
            if let Some(e) = status.problem.as_ref().map(|p| &p.message) {
                println!("Last error:  {}", clean(e));
            }
            println!(
                "Inbox:       {} new · {} accepted · {} rejected · {} taken away",
                counts.new, counts.accepted, counts.rejected, counts.taken_away
            );
            Ok(())
        }
        Command::Away | Command::Available => {
            let availability = if matches!(cli.command, Command::Away) {
                Availability::Away
            } else {
                Availability::Available
            };
            let engine = open(&profile, None)?;
            engine.set_availability(availability).await?;
            let word = if availability == Availability::Away {
                "away: no new leads"
            } else {
                "available for new leads"
            };
            match engine.push().await {
                Ok(_) => println!("You are {word}."),
                Err(e) if e.is_transient() => {
                    println!("You will be {word} once the server is reachable (saved).")
                }
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        Command::QuietHours { window } => {
            let engine = open(&profile, None)?;
            if window == "off" {
                engine.set_quiet_hours(None)?;
                println!("Quiet hours off.");
            } else {
                let q = engine.set_quiet_hours(Some(&window))?;
                println!(
                    "No notifications between {} each day.",
                    q.map(|q| q.to_string()).unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

async fn report_send(engine: &Engine, lead: i64, word: &str, undo: u64) -> anyhow::Result<()> {
    if undo > 0 {
        println!(
            "{word} lead {lead}; sending in {undo} s (`baton undo {lead}` takes it back). It is saved: if this stops, `baton sync` sends it."
        );
        tokio::time::sleep(Duration::from_secs(undo)).await;
    }
    match engine.push().await {
        Ok(_) => {
            let s = engine.summary(lead).await?;
            match (s.refused_message, s.decision_state) {
                (Some(msg), _) => {
                    anyhow::bail!("the server refused this decision: {}", clean(&msg))
                }
                (None, None) => {
                    println!("Your decision on lead {lead} was taken back; nothing was sent.")
                }
                (None, _) => println!("{word} lead {lead}; the server has it."),
            }
        }
        Err(e) if e.is_transient() => println!(
            "{word} lead {lead}; saved and waiting to be sent ({}). `baton sync` or `baton watch` sends it.",
            clean(&e.to_string())
        ),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// What `baton show` prints: lead content and server text made safe for a
/// terminal ([`clean`]).
fn lead_text(d: &baton_core::LeadDetail, now: Timestamp) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let out = &mut o;
    let l = &d.lead;
    let c = &l.contact;
    let x = &d.context;
    let _ = writeln!(
        out,
        "{} — {}",
        clean(&c.name),
        clean(c.company.as_deref().unwrap_or(""))
    );
    let _ = writeln!(out, "  Status:    {}", status_word(&d.summary));
    if let Some(msg) = &d.summary.refused_message {
        let _ = writeln!(out, "  Refused:   {}", clean(msg));
    }
    for (label, v) in [
        ("Title", c.title.as_deref()),
        ("Email", c.email.as_deref()),
        ("Phone", c.phone.as_deref()),
        ("Country", c.country.as_deref()),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "  {label:<10} {}", clean(v));
        }
    }
    if let Some(n) = c.company_size {
        let _ = writeln!(out, "  Company    {n} employees");
    }
    let s = &l.source;
    let _ = writeln!(
        out,
        "  Source:    {}{}",
        clean(&s.channel),
        s.campaign
            .as_deref()
            .map(|c| format!(" · campaign {}", clean(c)))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "  Score:     {}", l.score.value);
    if let Some(q) = &x.qualified_line {
        let _ = writeln!(out, "  {}", clean(q));
    }
    for b in &l.score.breakdown {
        let _ = writeln!(out, "    {:>+4}  {}", b.points, clean(&b.criterion));
    }
    if !l.quiz.is_empty() {
        let _ = writeln!(out, "  Quiz:");
        for q in &l.quiz {
            let _ = writeln!(out, "    {} → {}", clean(&q.question), clean(&q.answer));
        }
    }
    if !l.behaviours.is_empty() {
        let _ = writeln!(out, "  Behaviours:");
        for b in &l.behaviours {
            let _ = writeln!(
                out,
                "    {}  {}{}",
                ago(b.at, now),
                clean(&b.kind),
                b.detail
                    .as_deref()
                    .map(|d| format!(": {}", clean(d)))
                    .unwrap_or_default()
            );
        }
    }
    let i = &l.intent;
    for (label, v) in [
        ("Need", &i.need),
        ("Timeline", &i.timeline),
        ("Budget", &i.budget),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "  {label:<10} {}", clean(v));
        }
    }
    if let Some(a) = &l.assignment {
        let why = x.why.as_ref().map_or(a.why.as_str(), |w| w.line.as_str());
        let _ = writeln!(out, "  Why you:   {}", clean(why));
        if let Some(rule) = x.why.as_ref().and_then(|w| w.rule.as_deref()) {
            let _ = writeln!(out, "  Routing:   {}", clean(rule));
        }
        let _ = writeln!(
            out,
            "  Assigned:  {} · {}",
            ago(a.assigned_at, now),
            sla_left(a.sla_due_at, now)
        );
    }
    if !x.openers.is_empty() {
        let _ = writeln!(out, "  How to open:");
        for o in &x.openers {
            let _ = writeln!(out, "    {} — {}", clean(&o.signal), clean(&o.line));
        }
    }
    if !d.history.is_empty() {
        let _ = writeln!(out, "  History:");
        for h in &d.history {
            let _ = writeln!(out, "    {}  {}: {}", h.at, h.kind, clean(&h.detail));
        }
    }
    o
}

async fn watch(profile: Profile, no_notify: bool) -> anyhow::Result<()> {
    let (actions_tx, mut actions_rx) = tokio::sync::mpsc::unbounded_channel::<NotificationAction>();
    let notifier: Option<Arc<dyn Notifier>> = if no_notify {
        None
    } else {
        Some(Arc::new(DesktopNotifier::new(Arc::new(move |a| {
            let _ = actions_tx.send(a);
        }))))
    };
    let engine = open(&profile, notifier)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(engine.clone().run(stop_rx));
    let mut seen: std::collections::HashSet<i64> = engine
        .inbox(InboxQuery {
            status: None,
            search: None,
            limit: u32::MAX,
            offset: 0,
        })
        .await?
        .into_iter()
        .filter_map(|s| s.assignment_id)
        .collect();
    let mut status = engine.subscribe();
    eprintln!("Watching for new leads (Ctrl-C to stop)…");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            changed = status.changed() => {
                if changed.is_err() { break; }
                let rows = engine.inbox(InboxQuery { status: Some(LocalStatus::New), search: None, limit: 200, offset: 0 }).await?;
                for r in rows.iter().rev() {
                    if let Some(a) = r.assignment_id && seen.insert(a) {
                        println!(
                            "new lead {}: {} — {} · score {} · {}",
                            r.id,
                            clean(&r.name),
                            clean(r.company.as_deref().unwrap_or("")),
                            r.score,
                            clean(&r.channel)
                        );
                    }
                }
            }
            Some(action) = actions_rx.recv() => match action {
                NotificationAction::Accept(lead) => match engine.accept(lead, None).await {
                    Ok(_) => println!("accepted lead {lead} from its notification"),
                    Err(e) => eprintln!("cannot accept lead {lead}: {e}"),
                },
                NotificationAction::Open(lead) => println!("open lead {lead}: run `baton show {lead}`"),
            },
        }
    }
    let _ = stop_tx.send(true);
    let _ = runner.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::LeadDetail;

    /// A lead as `baton show --json` prints it: with its qualification, an
    /// explanation naming the reps passed over, and a definition whose
    /// opener applies. Lead text and the definition hold terminal escapes.
    fn detail() -> LeadDetail {
        let at = "2026-12-01T09:00:00Z";
        let lead: baton_protocol::Lead = serde_json::from_value(serde_json::json!({
            "id": 7, "external_id": "x7", "status": "assigned",
            "source": {"channel": "webinar"},
            "contact": {"name": "Ada \u{1b}[31mLovelace", "company": "Acme"},
            "score": {"value": 78, "breakdown": [{"criterion": "Quiz", "points": 50}]},
            "quiz": [{"question": "How many reps?", "answer": "More than 100"}],
            "behaviours": [], "intent": {},
            "assignment": {
                "id": 70, "lead_id": 7, "rep_id": 1, "rep_name": "Ava", "team": "sales",
                "rule": "fallback", "why": "Ava was next", "assigned_at": at,
                "sla_due_at": "2026-12-01T10:00:00Z", "outcome": "pending",
                "explanation": {
                    "team": "sales", "rule": "fallback", "rule_detail": "no rule matched",
                    "considered": [
                        {"rep_id": 2, "rep_name": "Ben", "skipped": "off_shift"},
                        {"rep_id": 3, "rep_name": "Cid", "skipped": "at_cap"},
                        {"rep_id": 1, "rep_name": "Ava"}
                    ]
                }
            },
            "qualification": {"version": 4, "threshold": 72, "score": 78},
            "created_at": at, "updated_at": at, "version": 1
        }))
        .unwrap();
        let definition: baton_protocol::Definition = serde_json::from_value(serde_json::json!({
            "version": 4, "threshold": 72, "reasons": [], "effective_at": at,
            "author": "Morgan", "note": "n", "changes": [],
            "criteria": [{
                "kind": "quiz_answer", "key": "How many reps?", "value": "More than 100",
                "meaning": "Large floors", "opener": "Open with the \u{1b}]0;pwned\u{7}routing audit"
            }]
        }))
        .unwrap();
        let summary: LeadSummary = serde_json::from_value(serde_json::json!({
            "id": 7, "external_id": "x7", "status": "new", "name": "Ada", "channel": "webinar",
            "score": 78
        }))
        .unwrap();
        LeadDetail {
            summary,
            context: baton_core::explain::context(&lead, Some(definition)),
            lead,
            history: vec![],
        }
    }

    #[test]
    fn show_says_under_which_definition_why_you_and_how_to_open() {
        let text = lead_text(&detail(), "2026-12-01T09:05:00Z".parse().unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"  Qualified under definition v4 — score 78 ≥ 72"),
            "{text}"
        );
        assert!(
            lines.contains(
                &"  Why you:   Next in team sales' rotation — skipped: Ben off shift, Cid at cap"
            ),
            "{text}"
        );
        assert!(
            lines.contains(&"  Routing:   Rule “fallback”: no rule matched"),
            "{text}"
        );
        let at = lines
            .iter()
            .position(|l| *l == "  How to open:")
            .expect(&text);
        assert_eq!(
            lines[at + 1],
            "    How many reps?: More than 100 — Open with the  ]0;pwned routing audit"
        );
    }

    #[test]
    fn nothing_shown_can_move_the_cursor_or_recolour_the_terminal() {
        let text = lead_text(&detail(), "2026-12-01T09:05:00Z".parse().unwrap());
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.starts_with("Ada  [31mLovelace — Acme\n"), "{text}");
    }

    #[test]
    fn an_account_the_rep_holds_is_the_why() {
        let mut d = detail();
        let e = d
            .lead
            .assignment
            .as_mut()
            .unwrap()
            .explanation
            .as_mut()
            .unwrap();
        e.account_match = Some(baton_protocol::AccountMatch {
            account: "acme.io".into(),
            rep_id: 1,
            rep_name: "Ava".into(),
            lead_id: 3,
            used: true,
        });
        d.context = baton_core::explain::context(&d.lead, None);
        let text = lead_text(&d, "2026-12-01T09:05:00Z".parse().unwrap());
        assert!(
            text.contains("  Why you:   Holds the account acme.io\n"),
            "{text}"
        );
        assert!(
            !text.contains("How to open"),
            "no definition, no lines: {text}"
        );
    }
}
