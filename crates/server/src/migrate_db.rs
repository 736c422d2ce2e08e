//! `baton-server migrate-db`: a team's SQLite database copied into an empty
//! PostgreSQL database — every row, with its id, and the token hashes as they
//! are — so a team that outgrows SQLite moves without losing history and
//! without re-issuing tokens.
//!
//! The source is read in one read transaction (a consistent snapshot, even of
//! a file a server is still writing) on a blocking thread, and streamed in
//! bounded batches into `COPY … FROM STDIN (FORMAT binary)`. The target is
//! written in one transaction: a copy that fails leaves it as empty as it was.
//!
//! Columns are copied by name, each value converted to its PostgreSQL
//! column's type. A table or column that one side has and the other lacks
//! stops the copy before anything is written, so a schema change that
//! migrate-db has not been taught can never leave data behind silently.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc;
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::error::{Error, Result};
use crate::store::CommitEffects;
use crate::store::postgres::{PgUrl, connect, migrate};
use crate::store::sqlite::SqliteStorage;

/// The SQLite schema version (`PRAGMA user_version`) whose tables this copy
/// reads: migrations 0001–0007. An older file is migrated to it first.
pub const SQLITE_SCHEMA: i64 = 8;

/// A table to copy.
struct Table {
    name: &'static str,
    /// For tables a server started on the target before the copy may have
    /// written (the teams of its config; facts about the database): the
    /// copied rows replace the target's rows with the same key. `None`: the
    /// target's table must be empty.
    merge_key: Option<&'static str>,
}

const fn table(name: &'static str) -> Table {
    Table {
        name,
        merge_key: None,
    }
}

/// Every table of both schemas that is copied, parents before children, so
/// each foreign key holds as its table arrives.
const TABLES: &[Table] = &[
    Table {
        name: "teams",
        merge_key: Some("name"),
    },
    table("reps"),
    table("managers"),
    table("manager_teams"),
    table("tokens"),
    table("leads"),
    table("assignments"),
    table("decisions"),
    table("idempotency"),
    table("feed"),
    table("lead_events"),
    table("report_offers"),
    table("report_reasons"),
    table("report_scores"),
    table("report_lead_scores"),
    table("report_offers_monthly"),
    table("report_reasons_monthly"),
    table("report_scores_monthly"),
    table("report_lead_scores_monthly"),
    table("queue_waits"),
    table("intake_receipts"),
    table("webhook_endpoints"),
    table("webhook_subscriptions"),
    table("outbound_events"),
    table("webhook_deliveries"),
    table("definitions"),
    table("audit_log"),
    table("escalations"),
    Table {
        name: "storage_meta",
        merge_key: Some("key"),
    },
];

/// PostgreSQL's tables that are not copied: its own record of migrations,
/// each rep's feed head, which is derived from the copied feed, and the
/// writers' epoch counter (store/postgres/cache.rs).
const PG_ONLY: &[&str] = &["schema_migrations", "feed_heads", "write_epoch"];

/// A batch ends at this many rows or about this many bytes, whichever comes
/// first; at most `BATCHES_IN_FLIGHT` wait for PostgreSQL. Memory stays
/// bounded however large the tables are.
const BATCH_ROWS: usize = 1000;
const BATCH_BYTES: usize = 1 << 20;
const BATCHES_IN_FLIGHT: usize = 4;

/// What a copy did.
#[derive(Clone, Debug)]
pub struct CopySummary {
    pub from: PathBuf,
    /// The target, without its password.
    pub to: String,
    /// The source's schema version if it was older than [`SQLITE_SCHEMA`]
    /// and migrated first.
    pub migrated_from: Option<i64>,
    /// Rows per table, in the order copied, then `feed_heads` (one per rep
    /// with a feed).
    pub tables: Vec<(&'static str, u64)>,
    pub elapsed: Duration,
}

impl fmt::Display for CopySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "copied {} into {} in {:.1} s",
            self.from.display(),
            self.to,
            self.elapsed.as_secs_f64()
        )?;
        if let Some(v) = self.migrated_from {
            writeln!(
                f,
                "({} was first migrated from schema version {v} to {SQLITE_SCHEMA}, as any baton-server command would)",
                self.from.display()
            )?;
        }
        writeln!(f, "{:<28} {:>10}", "TABLE", "ROWS")?;
        for (table, rows) in &self.tables {
            writeln!(f, "{table:<28} {rows:>10}")?;
        }
        Ok(())
    }
}

/// Copies the SQLite database at `from` into the PostgreSQL database `to`,
/// creating its schema if need be. Refuses a target whose tables hold rows,
/// and changes nothing then. Stop the server that writes `from` first:
/// what it writes after the copy's snapshot is not copied.
pub async fn copy_sqlite_to_postgres(from: &Path, to: &PgUrl) -> Result<CopySummary> {
    let started = Instant::now();
    let path = from.to_owned();
    let version = tokio::task::spawn_blocking(move || source_version(&path))
        .await
        .map_err(join_failed)??;

    let mut client = connect(to).await?;
    migrate(&mut client).await?;
    let pg = client
        .transaction()
        .await
        .map_err(pg_failed("starting the copy's transaction"))?;
    let plans = plan_tables(&pg).await?;
    claim_empty_target(&pg, to).await?;

    // Why migrate rather than refuse an older file: the copy reads the
    // schema this baton-server writes, and `serve` would upgrade the file the
    // same way at its next start, so the user needs no extra step. Only now,
    // once the target is known to take the copy, so a refused copy never
    // writes to the source.
    let migrated_from = if version < SQLITE_SCHEMA {
        let path = from.to_owned();
        tokio::task::spawn_blocking(move || {
            SqliteStorage::open(&path, 1, Arc::new(|_: &CommitEffects| {})).map(drop)
        })
        .await
        .map_err(join_failed)??;
        Some(version)
    } else {
        None
    };

    let sources: Vec<SourceTable> = plans
        .iter()
        .map(|p| SourceTable {
            name: p.table.name,
            columns: p.columns.iter().map(|c| (c.name.clone(), c.kind)).collect(),
        })
        .collect();
    let (batches, received) = mpsc::channel(BATCHES_IN_FLIGHT);
    let path = from.to_owned();
    let reader = tokio::task::spawn_blocking(move || read_snapshot(&path, &sources, &batches));
    let written = write_tables(&pg, &plans, received).await;
    // The reader's failure, if any, is why the writer stopped early; and a
    // writer that failed has closed the channel, which stops the reader.
    reader.await.map_err(join_failed)??;
    let mut tables = written?;

    tables.push(("feed_heads", set_feed_heads(&pg).await?));
    move_identities_past_copied_ids(&pg).await?;
    // A server already running on the target forgets what it remembered
    // of the empty database (its reps, its reserved ids): the copy counts
    // as a write of its own.
    pg.batch_execute("UPDATE write_epoch SET n = n + 1")
        .await
        .map_err(pg_failed("marking the copy as a write"))?;
    pg.commit()
        .await
        .map_err(pg_failed("committing the copy"))?;
    Ok(CopySummary {
        from: from.to_owned(),
        to: to.to_string(),
        migrated_from,
        tables,
        elapsed: started.elapsed(),
    })
}

/// The source's schema version, read without writing to it. Refuses what is
/// not a baton-server database, or one newer than this baton-server knows.
fn source_version(path: &Path) -> Result<i64> {
    if !path.is_file() {
        return Err(Error::Storage(format!(
            "no SQLite database at {}: name the file the server ran with (its --db)",
            path.display()
        )));
    }
    let conn = open_read_only(path)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| Error::Storage(format!("cannot read {}: {e}", path.display())))?;
    match version {
        0 => Err(Error::Storage(format!(
            "{} is not a baton-server database (it has no schema version): name the file the server ran with (its --db)",
            path.display()
        ))),
        v if v > SQLITE_SCHEMA => Err(Error::Storage(format!(
            "{} is at schema version {v}, newer than this baton-server knows ({SQLITE_SCHEMA}); run migrate-db of the baton-server that wrote it",
            path.display()
        ))),
        v => Ok(v),
    }
}

fn open_read_only(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// How a column's values travel: its PostgreSQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
    Json,
}

impl Kind {
    fn of(ty: &Type) -> Option<Kind> {
        Some(match *ty {
            Type::INT8 => Kind::Int,
            Type::BOOL => Kind::Bool,
            Type::TEXT => Kind::Text,
            Type::BYTEA => Kind::Bytes,
            Type::JSONB => Kind::Json,
            _ => return None,
        })
    }

    fn pg_type(self) -> &'static str {
        match self {
            Kind::Int => "bigint",
            Kind::Bool => "boolean",
            Kind::Text => "text",
            Kind::Bytes => "bytea",
            Kind::Json => "jsonb",
        }
    }
}

struct Column {
    name: String,
    kind: Kind,
    ty: Type,
}

struct TablePlan {
    table: &'static Table,
    /// PostgreSQL's columns, in its order.
    columns: Vec<Column>,
}

/// The PostgreSQL side of each table: its columns and their types. Refuses
/// a schema with tables this copy does not know of, or lacking one.
async fn plan_tables(pg: &Transaction<'_>) -> Result<Vec<TablePlan>> {
    let failed = pg_failed("reading the target's schema");
    let present: Vec<String> = pg
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .await
        .map_err(&failed)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let known = |t: &str| TABLES.iter().any(|k| k.name == t) || PG_ONLY.contains(&t);
    if let Some(unknown) = present.iter().find(|t| !known(t)) {
        return Err(Error::Internal(format!(
            "migrate-db does not know the PostgreSQL table {unknown}, so it cannot fill it; nothing was copied"
        )));
    }
    let mut plans = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        if !present.iter().any(|t| t == table.name) {
            return Err(Error::Internal(format!(
                "the PostgreSQL schema has no table {}; nothing was copied",
                table.name
            )));
        }
        let stmt = pg
            .prepare(&format!("SELECT * FROM {} LIMIT 0", ident(table.name)))
            .await
            .map_err(&failed)?;
        let columns = stmt
            .columns()
            .iter()
            .map(|c| match Kind::of(c.type_()) {
                Some(kind) => Ok(Column {
                    name: c.name().to_string(),
                    kind,
                    ty: c.type_().clone(),
                }),
                None => Err(Error::Internal(format!(
                    "migrate-db cannot fill {}.{} of PostgreSQL type {}; nothing was copied",
                    table.name,
                    c.name(),
                    c.type_()
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        plans.push(TablePlan { table, columns });
    }
    Ok(plans)
}

/// Locks the target's tables for the copy and refuses it unless they are
/// empty (but for the tables copied rows merge into).
async fn claim_empty_target(pg: &Transaction<'_>, to: &PgUrl) -> Result<()> {
    let all: Vec<String> = TABLES
        .iter()
        .map(|t| t.name)
        .chain(["feed_heads"])
        .map(ident)
        .collect();
    // EXCLUSIVE: others may still read, but none writes until the copy
    // commits; a second migrate-db waits here, then finds the rows.
    pg.batch_execute(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", all.join(", ")))
        .await
        .map_err(pg_failed("locking the target's tables"))?;
    let mut holding_rows = Vec::new();
    let must_be_empty = TABLES
        .iter()
        .filter(|t| t.merge_key.is_none())
        .map(|t| t.name)
        .chain(["feed_heads"]);
    for t in must_be_empty {
        let filled: bool = pg
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {})", ident(t)), &[])
            .await
            .map_err(pg_failed("checking that the target is empty"))?
            .get(0);
        if filled {
            holding_rows.push(t);
        }
    }
    if holding_rows.is_empty() {
        return Ok(());
    }
    Err(Error::Storage(format!(
        "{to} is not empty (rows in {}): migrate-db only fills an empty database, so nothing was copied; name a new, empty database as --to (createdb NAME)",
        holding_rows.join(", ")
    )))
}

/// One table as the reader sees it: PostgreSQL's columns, by name.
struct SourceTable {
    name: &'static str,
    columns: Vec<(String, Kind)>,
}

enum Batch {
    Rows(Vec<Vec<Cell>>),
    /// The table's last rows were sent.
    End,
}

/// Reads every table from one snapshot of the SQLite file and sends its
/// rows in batches, table after table. Returns early, without error, if the
/// receiving side is gone (its error is the one to report).
fn read_snapshot(path: &Path, tables: &[SourceTable], out: &mpsc::Sender<Batch>) -> Result<()> {
    let mut conn = open_read_only(path)?;
    // Deferred: the snapshot is taken by the first read, and every read
    // after it sees the same database, whatever a server commits meanwhile.
    let snapshot = conn.transaction()?;
    let version: i64 = snapshot.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != SQLITE_SCHEMA {
        return Err(Error::Storage(format!(
            "{} changed to schema version {version} while being copied; nothing was copied",
            path.display()
        )));
    }
    check_source_schema(&snapshot, tables)?;
    for table in tables {
        let names: Vec<String> = table.columns.iter().map(|(n, _)| ident(n)).collect();
        let mut stmt = snapshot.prepare(&format!(
            "SELECT {} FROM {}",
            names.join(", "),
            ident(table.name)
        ))?;
        let mut rows = stmt.query([])?;
        let (mut batch, mut bytes, mut n) = (Vec::new(), 0usize, 0u64);
        while let Some(row) = rows.next()? {
            n += 1;
            let mut cells = Vec::with_capacity(table.columns.len());
            for (i, (column, kind)) in table.columns.iter().enumerate() {
                let c = cell(row.get_ref(i)?, *kind).map_err(|why| {
                    Error::Storage(format!(
                        "cannot copy {}.{column} of row {n}: {why}; nothing was copied",
                        table.name
                    ))
                })?;
                bytes += c.size();
                cells.push(c);
            }
            batch.push(cells);
            if batch.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
                if out
                    .blocking_send(Batch::Rows(std::mem::take(&mut batch)))
                    .is_err()
                {
                    return Ok(());
                }
                bytes = 0;
            }
        }
        if !batch.is_empty() && out.blocking_send(Batch::Rows(batch)).is_err() {
            return Ok(());
        }
        if out.blocking_send(Batch::End).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Refuses a source whose tables or columns differ from the target's.
fn check_source_schema(conn: &Connection, tables: &[SourceTable]) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )?;
    let present = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if let Some(unknown) = present
        .iter()
        .find(|p| !tables.iter().any(|t| t.name == p.as_str()))
    {
        return Err(Error::Internal(format!(
            "migrate-db does not know the SQLite table {unknown}, so it would not copy it; nothing was copied"
        )));
    }
    let mut columns = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY name")?;
    for table in tables {
        let mut source = columns
            .query_map([table.name], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        source.sort();
        let mut target: Vec<String> = table.columns.iter().map(|(n, _)| n.clone()).collect();
        target.sort();
        if source != target {
            return Err(Error::Internal(format!(
                "the table {} has the columns {} in SQLite but {} in PostgreSQL; migrate-db cannot copy it, nothing was copied",
                table.name,
                source.join(", "),
                target.join(", ")
            )));
        }
    }
    Ok(())
}

/// One SQLite value as its PostgreSQL column takes it.
fn cell(value: ValueRef<'_>, kind: Kind) -> std::result::Result<Cell, String> {
    let text =
        |t: &[u8]| String::from_utf8(t.to_vec()).map_err(|_| "its text is not UTF-8".to_string());
    match (value, kind) {
        (ValueRef::Null, _) => Ok(Cell::Null),
        (ValueRef::Integer(v), Kind::Int) => Ok(Cell::Int(v)),
        // SQLite has no booleans: 0 and 1 (the schema checks).
        (ValueRef::Integer(v @ (0 | 1)), Kind::Bool) => Ok(Cell::Bool(v == 1)),
        (ValueRef::Text(t), Kind::Text) => text(t).map(Cell::Text),
        (ValueRef::Text(t), Kind::Json) => text(t).map(Cell::Json),
        (ValueRef::Blob(b), Kind::Bytes) => Ok(Cell::Bytes(b.to_vec())),
        (other, kind) => Err(format!(
            "SQLite holds {} where PostgreSQL takes {}",
            other.data_type(),
            kind.pg_type()
        )),
    }
}

/// A value on its way to PostgreSQL, already of its column's kind.
#[derive(Debug)]
enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Json(String),
}

impl Cell {
    fn size(&self) -> usize {
        match self {
            Cell::Text(s) | Cell::Json(s) => s.len() + 8,
            Cell::Bytes(b) => b.len() + 8,
            _ => 8,
        }
    }
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Int(v) => v.to_sql(ty, out),
            Cell::Bool(v) => v.to_sql(ty, out),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Bytes(v) => v.to_sql(ty, out),
            Cell::Json(text) => {
                // JSONB's binary form: a version byte (1), then the JSON text;
                // PostgreSQL parses it, so the text is not parsed here.
                out.put_u8(1);
                out.put_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(ty: &Type) -> bool {
        Kind::of(ty).is_some()
    }

    to_sql_checked!();
}

/// Writes each table's batches, in the reader's order, through `COPY`.
async fn write_tables(
    pg: &Transaction<'_>,
    plans: &[TablePlan],
    mut batches: mpsc::Receiver<Batch>,
) -> Result<Vec<(&'static str, u64)>> {
    let mut copied = Vec::with_capacity(plans.len());
    for plan in plans {
        let name = plan.table.name;
        let failed = pg_failed(format!("copying the table {name}"));
        let into = match plan.table.merge_key {
            None => ident(name),
            Some(_) => {
                let staging = ident(&format!("migrate_db_{name}"));
                pg.batch_execute(&format!(
                    "CREATE TEMPORARY TABLE {staging} (LIKE {}) ON COMMIT DROP",
                    ident(name)
                ))
                .await
                .map_err(&failed)?;
                staging
            }
        };
        let columns: Vec<String> = plan.columns.iter().map(|c| ident(&c.name)).collect();
        let types: Vec<Type> = plan.columns.iter().map(|c| c.ty.clone()).collect();
        let sink = pg
            .copy_in(&format!(
                "COPY {into} ({}) FROM STDIN (FORMAT binary)",
                columns.join(", ")
            ))
            .await
            .map_err(&failed)?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
        loop {
            match batches.recv().await {
                Some(Batch::Rows(rows)) => {
                    for row in &rows {
                        writer.as_mut().write_raw(row).await.map_err(&failed)?;
                    }
                }
                Some(Batch::End) => break,
                None => {
                    return Err(Error::Internal(format!(
                        "the SQLite reader stopped in the table {name}; nothing was copied"
                    )));
                }
            }
        }
        let rows = writer.as_mut().finish().await.map_err(&failed)?;
        if let Some(key) = plan.table.merge_key {
            let (table, key, cols) = (ident(name), ident(key), columns.join(", "));
            pg.batch_execute(&format!(
                "DELETE FROM {table} t USING {into} m WHERE t.{key} = m.{key}; \
                 INSERT INTO {table} ({cols}) SELECT {cols} FROM {into}"
            ))
            .await
            .map_err(&failed)?;
        }
        copied.push((name, rows));
    }
    Ok(copied)
}

/// Each rep's feed head at the rep's newest copied entry, so the next entry
/// gets a higher sequence number than any cursor a client holds. (SQLite
/// only deletes a rep's older entries when it appends a newer one, so a
/// rep's newest entry is never gone.)
async fn set_feed_heads(pg: &Transaction<'_>) -> Result<u64> {
    pg.execute(
        "INSERT INTO feed_heads (rep_id, seq) SELECT rep_id, MAX(seq) FROM feed GROUP BY rep_id",
        &[],
    )
    .await
    .map_err(pg_failed("setting the feed heads"))
}

/// Moves every identity column's sequence past the highest id copied, so
/// new rows never collide with copied ones. (Sequences are not
/// transactional: should the commit fail, they stay moved, which harms
/// nothing.)
async fn move_identities_past_copied_ids(pg: &Transaction<'_>) -> Result<()> {
    let failed = pg_failed("moving the id sequences past the copied ids");
    let identities = pg
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )
        .await
        .map_err(&failed)?;
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        let c = ident(&column);
        pg.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(MAX({c}), 1), MAX({c}) IS NOT NULL) FROM {}",
                ident(&table)
            ),
            &[&ident(&table), &column],
        )
        .await
        .map_err(&failed)?;
    }
    Ok(())
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A driver error as a storage error saying what was being done, with
/// PostgreSQL's own message, detail and context when it sent them (they
/// name the offending row and column, unlike the driver's "db error").
/// Never the URL: these errors come after connecting.
fn pg_failed(doing: impl fmt::Display) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| match e.as_db_error() {
        Some(db) => {
            let mut message = format!("{doing}: {} ({})", db.message(), db.code().code());
            for more in [db.detail(), db.where_()].into_iter().flatten() {
                message.push_str("; ");
                message.push_str(more);
            }
            Error::Storage(message)
        }
        None => Error::Storage(format!("{doing}: {e}")),
    }
}

fn join_failed(e: tokio::task::JoinError) -> Error {
    Error::Internal(format!("a migrate-db task failed: {e}"))
}
