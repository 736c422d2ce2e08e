//! The `baton-server` binary: serve, demo, and admin commands.

use baton_protocol::WireName;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use baton_server::config::TeamConfig;
use baton_server::store::postgres::PgUrl;
use baton_server::{Baton, Config, Error, api, app, demo, history, migrate_db, report};
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "baton-server",
    version,
    about = "Baton's reference lead router: intake, qualification, routing, SLA, change feed, live push, feedback and reports",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API for real use.
    Serve(ServeArgs),
    /// Serve a generated team and a steady stream of realistic demo leads;
    /// prints the server address, the intake key, the manager's token and each
    /// rep's token, one per line (tab-separated: role, name, value).
    Demo(DemoArgs),
    /// Add, list and issue tokens for reps.
    #[command(subcommand)]
    Rep(RepCommand),
    /// Add managers (they read reports and all leads).
    #[command(subcommand)]
    Manager(ManagerCommand),
    /// Create keys for marketing's systems to push leads with.
    #[command(subcommand, name = "intake-key")]
    IntakeKey(IntakeKeyCommand),
    /// Revoke tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check a routing config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Refill the report rollups from the offers and decisions themselves
    /// (they are kept up to date as the server runs; this repairs them).
    /// Stop the server first: the rebuild holds the database's write lock.
    RebuildReports {
        /// SQLite database file, or postgres://USER@HOST:PORT/DBNAME.
        #[arg(long, env = "BATON_DB")]
        db: PathBuf,
    },
    /// Import leads from a CSV file (or - for standard input): header row
    /// matched to lead fields, rows taken in like pushed leads (qualified and
    /// routed unless --no-route), matched to existing leads by external_id
    /// or email. Prints a summary; --dry-run says what would happen.
    Import(ImportArgs),
    /// Copy a team's SQLite database — leads, reps and their token hashes,
    /// offers, decisions, feeds, reports — into an empty PostgreSQL database,
    /// in one transaction; refuses a target that holds rows. Stop the
    /// server first: what it writes after the copy starts is not copied.
    MigrateDb {
        /// The SQLite database file the server ran with.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database: postgres://USER@HOST:PORT/DBNAME (the
        /// password from PGPASSWORD or ~/.pgpass rather than the URL).
        #[arg(long)]
        to: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// SQLite database file (created if missing), or a PostgreSQL database:
    /// postgres://USER@HOST:PORT/DBNAME[?sslmode=…] (password from the URL,
    /// PGPASSWORD or ~/.pgpass).
    #[arg(long, env = "BATON_DB")]
    db: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878", env = "BATON_ADDR")]
    addr: SocketAddr,
    /// Routing config (TOML: threshold, teams and SLAs, regions, rules, reasons).
    /// Without it: one team "sales", threshold 60, SLA 60 min.
    #[arg(long, env = "BATON_CONFIG")]
    config: Option<PathBuf>,
    /// Seconds between heartbeats on live streams.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat_secs: u64,
}

#[derive(Args)]
struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The source the leads come from (their ids are prefixed with it).
    #[arg(long)]
    source: String,
    /// The CSV file, or - for standard input.
    file: PathBuf,
    /// Say what would be created, updated or refused, and why; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Import as history: store the leads but offer none to a rep.
    #[arg(long)]
    no_route: bool,
    /// A lead field and the column that fills it, overriding the automatic
    /// match: --map score="Lead Score" (repeatable).
    #[arg(long = "map", value_name = "FIELD=HEADER")]
    map: Vec<String>,
    /// The leads' channel when no column gives one (default: the source).
    #[arg(long)]
    channel: Option<String>,
    /// The most the file's scores can be; they are scaled to 0–100.
    #[arg(long)]
    score_max: Option<f64>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// SQLite database file; default: a new file in the system's temp directory.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Demo leads generated per minute (0: none).
    #[arg(long, default_value_t = 6)]
    rate: u32,
    /// Leads generated at start, so the inbox is not empty.
    #[arg(long, default_value_t = 10)]
    backlog: u32,
    /// Teams' SLA in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    sla_secs: u64,
    /// Seed for the lead generator (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Seconds between heartbeats on live streams.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat_secs: u64,
    /// Days of past handoffs to replay into a new database, so the
    /// manager's review has weeks to show (0: none).
    #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(0..=730))]
    history_days: u32,
    /// Leads per replayed day.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    history_leads_per_day: u32,
    /// Reps to add besides the named demo reps, shared between the teams
    /// (a bigger sales floor for large histories).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1000))]
    extra_reps: u32,
}

#[derive(Args)]
struct DbArgs {
    /// SQLite database file, or postgres://USER@HOST:PORT/DBNAME.
    #[arg(long, env = "BATON_DB")]
    db: PathBuf,
    /// Routing config; without it, the teams the server last ran with.
    #[arg(long, env = "BATON_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum RepCommand {
    /// Add a rep and print their token (shown once).
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        team: String,
        /// Share of the team's leads relative to teammates.
        #[arg(long, default_value_t = 1)]
        weight: u32,
        /// Most leads awaiting this rep's decision at once.
        #[arg(long, default_value_t = 20)]
        max_open: u32,
    },
    /// List reps with team, weight, cap, availability and open leads.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Issue another token for an existing rep.
    Token {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ManagerCommand {
    /// Add a manager (or a new token for an existing one) and print the token.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum IntakeKeyCommand {
    /// Create an intake key and print it (shown once).
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// What the key is for, e.g. "HubSpot workflow".
        #[arg(long)]
        label: String,
        /// The source whose leads the key may create and update (keys of
        /// one source share its leads, so a key can be rotated); default:
        /// the label.
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Revoke a token, read from standard input (kept out of shell history).
    Revoke {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Parse and check a config file; prints the teams and rules it defines.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let default_log = match cli.command {
        Command::Serve(_) | Command::Demo(_) => "info",
        _ => "warn",
    };
    init_logging(default_log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(a) => serve(a).await,
        Command::Demo(a) => run_demo(a).await,
        Command::Rep(RepCommand::Add {
            db,
            name,
            email,
            team,
            weight,
            max_open,
        }) => {
            let baton = open_admin(&db).await?;
            let (rep, token) = baton
                .add_rep(&name, &email, &team, weight, max_open)
                .await?;
            eprintln!(
                "added rep {} <{}> to team {} (id {}); their token is shown once:",
                rep.name, rep.email, rep.team, rep.id
            );
            println!("{token}");
            Ok(())
        }
        Command::Rep(RepCommand::List { db, json }) => {
            let baton = open_admin(&db).await?;
            let reps = baton.reps().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reps)?);
            } else {
                println!(
                    "{:<5} {:<24} {:<32} {:<12} {:>6} {:>4} {:>9} {:<9}",
                    "ID", "NAME", "EMAIL", "TEAM", "WEIGHT", "OPEN", "MAX OPEN", "STATUS"
                );
                for r in reps {
                    println!(
                        "{:<5} {:<24} {:<32} {:<12} {:>6} {:>4} {:>9} {:<9}",
                        r.id,
                        r.name,
                        r.email,
                        r.team,
                        r.weight,
                        r.open_leads,
                        r.max_open,
                        match r.availability {
                            baton_protocol::Availability::Available => "available",
                            baton_protocol::Availability::Away => "away",
                        }
                    );
                }
            }
            Ok(())
        }
        Command::Rep(RepCommand::Token { db, email }) => {
            let baton = open_admin(&db).await?;
            let (rep, token) = baton.new_rep_token(&email).await?;
            eprintln!("new token for {} <{}> (shown once):", rep.name, rep.email);
            println!("{token}");
            Ok(())
        }
        Command::Manager(ManagerCommand::Add { db, name, email }) => {
            let baton = open_admin(&db).await?;
            let token = baton.add_manager(&name, &email).await?;
            eprintln!("manager {name} <{email}>: token shown once:");
            println!("{token}");
            Ok(())
        }
        Command::IntakeKey(IntakeKeyCommand::Add { db, label, source }) => {
            let baton = open_admin(&db).await?;
            let source = source.unwrap_or_else(|| label.clone());
            let token = baton.add_intake_key(&label, &source).await?;
            eprintln!("intake key {label:?} for source {source:?} (shown once):");
            println!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { db }) => {
            let mut token = String::new();
            std::io::stdin()
                .read_line(&mut token)
                .context("cannot read the token from standard input")?;
            let baton = open_admin(&db).await?;
            if baton.revoke_token(&token).await? {
                eprintln!("revoked");
                Ok(())
            } else {
                bail!("no such active token")
            }
        }
        Command::Import(args) => {
            baton_server::import::check_source_name(&args.source)?;
            let mut mapping = std::collections::BTreeMap::new();
            for m in &args.map {
                let Some((field, header)) = m.split_once('=') else {
                    bail!("--map {m:?}: write FIELD=HEADER, e.g. --map score=\"Lead Score\"");
                };
                mapping.insert(field.trim().to_string(), header.trim().to_string());
            }
            let file: Box<dyn std::io::Read + Send> = if args.file.as_os_str() == "-" {
                Box::new(std::io::stdin())
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&args.file)
                        .with_context(|| format!("cannot open {}", args.file.display()))?,
                ))
            };
            let baton = open_admin(&args.db).await?;
            baton.apply_config().await?;
            let opts = baton_server::import::ImportOptions {
                source: args.source.clone(),
                channel: args.channel.clone(),
                score_max: args.score_max,
                mapping,
                dry_run: args.dry_run,
                route: !args.no_route,
            };
            let summary = baton_server::import::run(
                baton.db().clone(),
                baton.state.config.clone(),
                file,
                opts,
            )
            .await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_import_summary(&summary);
            }
            Ok(())
        }
        Command::RebuildReports { db } => {
            let started = std::time::Instant::now();
            let baton = Baton::open(&db, Config::single_team("sales"), Duration::from_secs(15))?;
            baton.rebuild_reports().await?;
            println!(
                "report rollups of {} rebuilt in {:.1} s",
                baton_server::store::describe(&db),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::MigrateDb { from, to } => {
            let to = PgUrl::parse(&to)?;
            print!("{}", migrate_db::copy_sqlite_to_postgres(&from, &to).await?);
            Ok(())
        }
        Command::Config(ConfigCommand::Check { config }) => {
            let c = Config::from_file(&config)?;
            println!("qualification threshold: {}", c.qualification_threshold);
            for t in &c.teams {
                println!("team {:?}: SLA {} s", t.name, t.sla_seconds);
            }
            for r in &c.rules {
                println!(
                    "rule {:?} → team {:?} ({} conditions)",
                    r.name,
                    r.team,
                    r.when.len()
                );
            }
            println!("fallback team: {:?}", c.fallback_team());
            println!(
                "reasons: {}",
                c.reasons
                    .iter()
                    .map(|r| r.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
    }
}

/// Opens the database for an admin command, with the given config or the
/// teams the server last ran with.
/// An import's summary for a terminal: values from the file are quoted
/// (Debug), so a cell cannot drive the terminal.
fn print_import_summary(s: &baton_protocol::ImportSummary) {
    let verb = if s.dry_run { "would be" } else { "were" };
    println!(
        "{} rows from source {:?}{}: {} {verb} created, {} updated, {} unchanged, {} refused ({:.1} s)",
        s.rows,
        s.source,
        if s.dry_run {
            " (dry run: nothing written)"
        } else if s.routed {
            ""
        } else {
            " (history: not routed)"
        },
        s.created,
        s.updated,
        s.unchanged,
        s.refused,
        s.elapsed_ms as f64 / 1000.0
    );
    for c in &s.columns {
        println!("  column {:?} → {}", c.header, c.field);
    }
    for c in &s.ignored_columns {
        println!("  column {c:?} ignored (no lead field; map it with --map FIELD={c:?})");
    }
    for r in &s.refusals {
        println!("  line {}: {}: {:?}", r.line, r.field, r.message);
    }
    if s.refused as usize > s.refusals.len() {
        println!(
            "  … and {} more refused rows",
            s.refused as usize - s.refusals.len()
        );
    }
}

async fn open_admin(args: &DbArgs) -> anyhow::Result<Baton> {
    let explicit = match &args.config {
        Some(path) => Some(Config::from_file(path)?),
        None => None,
    };
    let have_config = explicit.is_some();
    let mut baton = Baton::open(
        &args.db,
        explicit.unwrap_or_else(|| Config::single_team("sales")),
        Duration::from_secs(15),
    )?;
    if !have_config {
        let teams = baton.db().read(|tx| tx.teams()).await?;
        let teams: Vec<TeamConfig> = teams
            .into_iter()
            .map(|t| TeamConfig::new(&t.name, t.sla_seconds))
            .collect();
        if !teams.is_empty() {
            baton.state.config = Arc::new(Config::with_teams(teams)?);
        }
    }
    Ok(baton)
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is another server using that port?)"))
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let config = match &a.config {
        Some(p) => Config::from_file(p)?,
        None => {
            tracing::warn!("no --config given: one team \"sales\", threshold 60, SLA 60 min");
            Config::single_team("sales")
        }
    };
    let baton = Baton::open(&a.db, config, Duration::from_secs(a.heartbeat_secs))?;
    baton.start_up().await?;
    let listener = bind(a.addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, db = %baton_server::store::describe(&a.db), "baton-server listening");
    // One line on stdout, so scripts and tests can start on port 0 and learn the port.
    println!("listening\thttp://{local}");
    baton.serve(listener, app::shutdown_signal()).await?;
    Ok(())
}

fn demo_db_path(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "baton-demo-{}-{}.db",
            std::process::id(),
            baton_server::clock::now().millis()
        ))
    })
}

async fn run_demo(a: DemoArgs) -> anyhow::Result<()> {
    let db_path = demo_db_path(a.db);
    let is_url = baton_server::store::postgres::is_url(&db_path.to_string_lossy());
    let baton = Baton::open(
        &db_path,
        demo::config(a.sla_secs),
        Duration::from_secs(a.heartbeat_secs),
    )?;
    // History is generated into a new database only (a file that did not
    // exist, or a PostgreSQL database without leads).
    let fresh = baton
        .db()
        .read(|tx| tx.feed_max_seq())
        .await
        .map(|seq| seq == 0)?;
    baton.apply_config().await?;
    let intake_key = baton
        .add_intake_key("Demo marketing automation", demo::SOURCE)
        .await?;
    let manager_token = baton.add_manager(demo::MANAGER.0, demo::MANAGER.1).await?;
    let mut rep_tokens = Vec::new();
    for (name, email, team, weight, max_open) in demo::REPS {
        let (rep, token) = match baton.add_rep(name, email, team, *weight, *max_open).await {
            Ok(added) => added,
            // The database is from an earlier demo run: keep the rep, new token.
            Err(Error::InvalidField { .. }) => baton.new_rep_token(email).await?,
            Err(e) => return Err(e.into()),
        };
        rep_tokens.push((rep.name, token));
    }
    for i in 1..=a.extra_reps {
        let team = if i % 2 == 0 { "emea" } else { "americas" };
        let (name, email) = (format!("Demo Rep {i}"), format!("rep{i}@demo.baton.test"));
        match baton.add_rep(&name, &email, team, 1, 25).await {
            Ok(_) | Err(Error::InvalidField { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let seed = a
        .seed
        .unwrap_or_else(|| baton_server::clock::now().millis() as u64);
    if fresh && a.history_days > 0 {
        let started = std::time::Instant::now();
        let done = history::replay(
            baton.db(),
            baton.state.config.clone(),
            history::HistorySpec {
                days: a.history_days,
                leads_per_day: a.history_leads_per_day,
                seed,
                end_day: report::day_of(baton_server::clock::now()),
            },
        )
        .await?;
        tracing::info!(
            days = a.history_days,
            leads = done.leads,
            offers = done.offers,
            decisions = done.decisions,
            secs = started.elapsed().as_secs_f64(),
            "replayed past handoffs"
        );
    }
    baton.start_up().await?;
    let listener = bind(a.addr).await?;
    let local = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "server\tbaton-server demo\thttp://{local}")?;
        writeln!(out, "intake\tDemo marketing automation\t{intake_key}")?;
        writeln!(out, "manager\t{}\t{manager_token}", demo::MANAGER.0)?;
        for (name, token) in &rep_tokens {
            writeln!(out, "rep\t{name}\t{token}")?;
        }
        out.flush()?;
    }
    tracing::info!(addr = %local, db = %baton_server::store::describe(&db_path), rate = a.rate, "demo running");
    let state = baton.state.clone();
    let (backlog, rate) = (a.backlog, a.rate);
    tokio::spawn(async move {
        let mut rng = demo::Rng::new(seed);
        let mut shutdown = state.shutdown.clone();
        let mut n = 0u64;
        let mut push = |rng: &mut demo::Rng| {
            n += 1;
            demo::lead(rng, n, baton_server::clock::now())
        };
        for _ in 0..backlog {
            let lead = push(&mut rng);
            if let Err(e) = api::submit_lead(&state, lead, demo::SOURCE).await {
                tracing::warn!(error = %e, "demo lead refused");
            }
        }
        let Some(every) = demo::interval(rate) else {
            return;
        };
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let lead = push(&mut rng);
            match api::submit_lead(&state, lead, demo::SOURCE).await {
                Ok(r) => tracing::info!(
                    lead = r.lead.id,
                    status = r.lead.status.as_str(),
                    "demo lead"
                ),
                Err(e) => tracing::warn!(error = %e, "demo lead refused"),
            }
        }
    });
    baton.serve(listener, app::shutdown_signal()).await?;
    if !is_url && !Path::new(&db_path).exists() {
        bail!("the demo database vanished");
    }
    Ok(())
}
