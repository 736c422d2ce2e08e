//! CSV import: leads from a spreadsheet or another tool's export, taken in
//! as `POST /v1/leads` takes them (the same validation, qualification and
//! routing), or as history that is never offered (`route: false`).
//!
//! The file is read a row at a time and written in batches of
//! [`BATCH_ROWS`], one write job (one transaction) each, so a 100,000-row
//! file never sits in memory and never holds the writer long. Rows are
//! matched to leads by their `external_id` column, or, without one, by
//! their email: a second row for the same lead in one file is refused as a
//! duplicate, and a file imported again changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::time::Instant;

use baton_protocol::{
    ImportColumn, ImportRefusal, ImportSummary, IntakeOutcome, LeadIntake, Timestamp,
};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::routing;
use crate::sources::{LEAD_FIELDS, MapError, Source, SourceConfig};
use crate::store::{ReadTx, WriteTx};

/// Rows per write job.
pub const BATCH_ROWS: usize = 500;
/// Refusals listed in a summary (all are counted).
pub const MAX_REFUSALS_LISTED: usize = 100;
/// Bounds on a file: its columns, and one row's bytes.
const MAX_COLUMNS: usize = 200;
const MAX_ROW_BYTES: usize = 64 * 1024;

/// Header names (normalised: lower case, letters and digits joined by
/// `_`) that match each lead field without an explicit mapping.
const ALIASES: &[(&str, &[&str])] = &[
    (
        "external_id",
        &["external_id", "id", "lead_id", "record_id", "contact_id"],
    ),
    (
        "email",
        &[
            "email",
            "e_mail",
            "email_address",
            "work_email",
            "business_email",
        ],
    ),
    ("name", &["name", "full_name", "contact_name", "lead_name"]),
    (
        "first_name",
        &["first_name", "firstname", "given_name", "first"],
    ),
    (
        "last_name",
        &["last_name", "lastname", "surname", "family_name", "last"],
    ),
    (
        "company",
        &[
            "company",
            "company_name",
            "organization",
            "organisation",
            "account",
            "account_name",
        ],
    ),
    (
        "title",
        &["title", "job_title", "jobtitle", "position", "role"],
    ),
    (
        "phone",
        &[
            "phone",
            "phone_number",
            "mobile",
            "mobile_phone",
            "telephone",
        ],
    ),
    (
        "country",
        &["country", "country_code", "hs_country_region_code"],
    ),
    (
        "company_size",
        &[
            "company_size",
            "employees",
            "number_of_employees",
            "numemployees",
            "headcount",
        ],
    ),
    (
        "score",
        &["score", "lead_score", "hubspotscore", "hubspot_score"],
    ),
    (
        "channel",
        &["channel", "lead_source", "source", "hs_analytics_source"],
    ),
    ("campaign", &["campaign", "campaign_name"]),
    ("utm_source", &["utm_source"]),
    ("utm_medium", &["utm_medium"]),
    ("utm_campaign", &["utm_campaign"]),
    ("utm_term", &["utm_term"]),
    ("utm_content", &["utm_content"]),
    ("need", &["need", "intent_need"]),
    ("timeline", &["timeline", "intent_timeline"]),
    ("budget", &["budget", "intent_budget"]),
];

/// What to import and how.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The source the leads are recorded as coming from.
    pub source: String,
    /// The leads' channel when no column gives one (default: the source's name).
    pub channel: Option<String>,
    /// The most the file's scores can be (they are scaled to 0–100).
    pub score_max: Option<f64>,
    /// Lead field → header, overriding the automatic match.
    pub mapping: BTreeMap<String, String>,
    /// Say what would happen; write nothing.
    pub dry_run: bool,
    /// Offer qualified new leads to reps (false: history only).
    pub route: bool,
}

fn normalise(header: &str) -> String {
    let mut out = String::new();
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Which column feeds which lead field.
#[derive(Clone, Debug)]
struct Plan {
    /// (column index, lead field, header)
    columns: Vec<(usize, &'static str, String)>,
    ignored: Vec<String>,
    has_external_id: bool,
}

fn plan(headers: &csv::StringRecord, opts: &ImportOptions) -> Result<Plan> {
    if headers.len() > MAX_COLUMNS {
        return Err(Error::field(
            "header",
            format!(
                "has {} columns; at most {MAX_COLUMNS} are read",
                headers.len()
            ),
        ));
    }
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    let mut columns: Vec<(usize, &'static str, String)> = vec![];
    for (field, header) in &opts.mapping {
        let Some(lead_field) = LEAD_FIELDS
            .iter()
            .find(|f| **f == field.as_str() && !["quiz", "behaviours", "breakdown"].contains(f))
        else {
            return Err(Error::field(
                "mapping",
                format!("{field:?} is not a lead field a column can fill"),
            ));
        };
        let Some(i) = names
            .iter()
            .position(|n| n == header || normalise(n) == normalise(header))
        else {
            return Err(Error::field(
                "mapping",
                format!(
                    "the file has no column {header:?} (its columns: {})",
                    names.join(", ")
                ),
            ));
        };
        columns.push((i, lead_field, names[i].clone()));
    }
    for (i, name) in names.iter().enumerate() {
        if columns.iter().any(|(c, _, _)| *c == i) {
            continue;
        }
        let n = normalise(name);
        let field = ALIASES
            .iter()
            .find(|(f, aliases)| {
                aliases.contains(&n.as_str()) && !columns.iter().any(|(_, lf, _)| lf == f)
            })
            .map(|(f, _)| *f);
        if let Some(f) = field {
            columns.push((i, f, name.clone()));
        }
    }
    let ignored = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !columns.iter().any(|(c, _, _)| c == i))
        .map(|(_, n)| n.clone())
        .collect();
    let has = |f: &str| columns.iter().any(|(_, lf, _)| *lf == f);
    if !has("score") {
        return Err(Error::field(
            "header",
            format!(
                "no column holds the score (looked for {}); map one, e.g. --map score=\"Lead Score\"",
                ALIASES
                    .iter()
                    .find(|(f, _)| *f == "score")
                    .map(|(_, a)| a.join(", "))
                    .unwrap_or_default()
            ),
        ));
    }
    if !has("external_id") && !has("email") {
        return Err(Error::field(
            "header",
            "no column identifies the leads: an external_id or an email column is needed (a re-import then updates rather than duplicates)",
        ));
    }
    let has_external_id = has("external_id");
    columns.sort_by_key(|(i, _, _)| *i);
    Ok(Plan {
        has_external_id,
        columns,
        ignored,
    })
}

/// One row, mapped (or not) and ready to apply.
pub struct PreparedRow {
    pub line: u64,
    pub lead: std::result::Result<LeadIntake, MapError>,
}

/// What a row came to.
#[derive(Clone, Debug, PartialEq)]
pub enum RowOutcome {
    Done(IntakeOutcome),
    Refused(MapError),
}

/// Applies (or, in a dry run, judges) one batch inside a write (or read)
/// job; the caller provides the job.
pub fn apply_batch(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    source: &str,
    route: bool,
    rows: Vec<PreparedRow>,
    now: Timestamp,
) -> Result<Vec<RowOutcome>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match row.lead {
            Err(m) => out.push(RowOutcome::Refused(m)),
            Ok(lead) => match routing::intake_with(tx, cfg, lead, source, now, route) {
                Ok(resp) => out.push(RowOutcome::Done(resp.outcome)),
                // Raised before intake writes anything: the row alone is refused.
                Err(Error::ExternalIdTaken(m)) => out.push(RowOutcome::Refused(MapError {
                    field: "external_id".into(),
                    message: m,
                })),
                Err(e) => return Err(e),
            },
        }
    }
    Ok(out)
}

/// What a batch would come to, read only.
pub fn judge_batch(
    tx: &dyn ReadTx,
    source: &str,
    rows: Vec<PreparedRow>,
) -> Result<Vec<RowOutcome>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match row.lead {
            Err(m) => out.push(RowOutcome::Refused(m)),
            Ok(lead) => match tx.lead_by_external_id(&lead.external_id)? {
                None => out.push(RowOutcome::Done(IntakeOutcome::Created)),
                Some(existing) => {
                    if existing
                        .intake_source
                        .as_deref()
                        .is_some_and(|s| s != source)
                    {
                        out.push(RowOutcome::Refused(MapError {
                            field: "external_id".into(),
                            message: format!(
                                "external_id {:?} belongs to a lead from another source",
                                lead.external_id
                            ),
                        }));
                    } else if existing.payload_hash == routing::payload_hash(&lead) {
                        out.push(RowOutcome::Done(IntakeOutcome::Unchanged));
                    } else {
                        out.push(RowOutcome::Done(IntakeOutcome::Updated));
                    }
                }
            },
        }
    }
    Ok(out)
}

/// Reads `file` a row at a time and hands batches to `run_batch` (which
/// applies or judges them in one job each). A file that cannot be read as
/// CSV stops the import with an error naming the line; rows before it are
/// already imported (importing the file again changes them no more).
pub fn import(
    file: impl Read,
    opts: &ImportOptions,
    now: Timestamp,
    mut run_batch: impl FnMut(Vec<PreparedRow>) -> Result<Vec<RowOutcome>>,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| Error::field("header", format!("the first line is not a CSV header: {e}")))?
        .clone();
    let plan = plan(&headers, opts)?;
    let source_cfg = SourceConfig::for_import(&opts.source, opts.channel.clone(), opts.score_max);
    let source = Source::new(&source_cfg);
    let mut summary = ImportSummary {
        source: opts.source.clone(),
        dry_run: opts.dry_run,
        routed: opts.route && !opts.dry_run,
        columns: plan
            .columns
            .iter()
            .map(|(_, f, h)| ImportColumn {
                header: h.clone(),
                field: (*f).to_string(),
            })
            .collect(),
        ignored_columns: plan.ignored.clone(),
        ..ImportSummary::default()
    };
    // Each lead's first line in this file, by a 128-bit digest of its
    // external id: some 40 bytes a row, not the ids themselves.
    let mut seen: HashMap<u128, u64> = HashMap::new();
    let digest = |id: &str| -> u128 {
        use sha2::Digest;
        let d = sha2::Sha256::digest(id.as_bytes());
        u128::from_le_bytes(d[..16].try_into().expect("16 bytes"))
    };
    let mut batch: Vec<PreparedRow> = Vec::with_capacity(BATCH_ROWS);
    let mut record = csv::StringRecord::new();
    let mut flush = |batch: &mut Vec<PreparedRow>, summary: &mut ImportSummary| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let lines: Vec<u64> = batch.iter().map(|r| r.line).collect();
        let outcomes = run_batch(std::mem::take(batch))?;
        for (line, outcome) in lines.into_iter().zip(outcomes) {
            match outcome {
                RowOutcome::Done(IntakeOutcome::Created) => summary.created += 1,
                RowOutcome::Done(IntakeOutcome::Updated) => summary.updated += 1,
                RowOutcome::Done(IntakeOutcome::Unchanged) => summary.unchanged += 1,
                RowOutcome::Refused(m) => refuse(summary, line, m),
            }
        }
        Ok(())
    };
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                flush(&mut batch, &mut summary)?;
                let line = e.position().map(|p| p.line()).unwrap_or(summary.rows + 2);
                return Err(Error::field(
                    "file",
                    format!(
                        "line {line} cannot be read as CSV ({e}); the {} rows before it were {}",
                        summary.rows,
                        if opts.dry_run { "checked" } else { "imported" }
                    ),
                ));
            }
        }
        summary.rows += 1;
        let line = record
            .position()
            .map(|p| p.line())
            .unwrap_or(summary.rows + 1);
        if record.as_slice().len() > MAX_ROW_BYTES {
            refuse(
                &mut summary,
                line,
                MapError {
                    field: "row".into(),
                    message: format!("is longer than {MAX_ROW_BYTES} bytes"),
                },
            );
            continue;
        }
        let values: Vec<(&'static str, String, String)> = plan
            .columns
            .iter()
            .filter_map(|(i, f, h)| {
                record
                    .get(*i)
                    .map(|v| (*f, v.to_string(), format!("column {h:?}")))
            })
            .collect();
        let mut values = values;
        if !plan.has_external_id {
            // Without an id column a lead is known by its email.
            if let Some((_, email, from)) = values.iter().find(|(f, _, _)| *f == "email") {
                let id = email.trim().to_lowercase();
                values.push(("external_id", id, from.clone()));
            }
        }
        let lead = source.map_values(values, now);
        if let Ok(l) = &lead {
            let key = digest(&l.external_id);
            if let Some(first) = seen.get(&key) {
                refuse(
                    &mut summary,
                    line,
                    MapError {
                        field: "external_id".into(),
                        message: format!(
                            "the same lead as line {first} ({}); only the first is imported",
                            l.external_id
                        ),
                    },
                );
                continue;
            }
            seen.insert(key, line);
        }
        batch.push(PreparedRow { line, lead });
        if batch.len() >= BATCH_ROWS {
            flush(&mut batch, &mut summary)?;
        }
    }
    flush(&mut batch, &mut summary)?;
    summary.refusals.sort_by_key(|r| r.line);
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

fn refuse(summary: &mut ImportSummary, line: u64, m: MapError) {
    summary.refused += 1;
    if summary.refusals.len() < MAX_REFUSALS_LISTED {
        summary.refusals.push(ImportRefusal {
            line,
            field: m.field,
            message: m.message,
        });
    }
}

/// Runs an import against the database: the file is read on a blocking
/// thread, each batch one write job (a read job in a dry run).
pub async fn run(
    db: crate::store::Db,
    config: std::sync::Arc<Config>,
    file: impl Read + Send + 'static,
    opts: ImportOptions,
) -> Result<ImportSummary> {
    let handle = tokio::runtime::Handle::current();
    let now = crate::clock::now();
    tokio::task::spawn_blocking(move || {
        import(file, &opts, now, |rows| {
            let (db, config, source) = (db.clone(), config.clone(), opts.source.clone());
            let route = opts.route;
            if opts.dry_run {
                handle.block_on(db.read(move |tx| judge_batch(tx, &source, rows)))
            } else {
                handle.block_on(db.write(move |tx| {
                    apply_batch(tx, &config, &source, route, rows, crate::clock::now())
                }))
            }
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("the import stopped: {e}")))?
}

/// A source name for an import: as a configured source's.
pub fn check_source_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::field(
            "source",
            "must be 1 to 64 characters of a-z, 0-9, - and _ (it prefixes the leads' ids)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(h.to_vec())
    }

    #[test]
    fn headers_match_lead_fields_and_mappings_override() {
        let opts = ImportOptions::default();
        let p = plan(
            &headers(&[
                "Email Address",
                "First Name",
                "Last Name",
                "Lead Score",
                "Notes",
            ]),
            &opts,
        )
        .unwrap();
        let fields: Vec<_> = p.columns.iter().map(|(_, f, _)| *f).collect();
        assert_eq!(fields, ["email", "first_name", "last_name", "score"]);
        assert_eq!(p.ignored, ["Notes"]);
        assert!(!p.has_external_id);

        let mut opts = ImportOptions::default();
        opts.mapping.insert("score".into(), "Notes".into());
        let p = plan(&headers(&["email", "Lead Score", "Notes"]), &opts).unwrap();
        let score = p.columns.iter().find(|(_, f, _)| *f == "score").unwrap();
        assert_eq!(score.2, "Notes");
        assert_eq!(p.ignored, ["Lead Score"]);
    }

    #[test]
    fn a_file_without_score_or_identity_is_refused_whole() {
        let opts = ImportOptions::default();
        let e = plan(&headers(&["email", "name"]), &opts).unwrap_err();
        assert!(e.to_string().contains("score"), "{e}");
        let e = plan(&headers(&["name", "score"]), &opts).unwrap_err();
        assert!(e.to_string().contains("external_id or an email"), "{e}");
        let mut bad = ImportOptions::default();
        bad.mapping.insert("score".into(), "Nope".into());
        let e = plan(&headers(&["email", "score"]), &bad).unwrap_err();
        assert!(e.to_string().contains("no column \"Nope\""), "{e}");
    }

    #[test]
    fn rows_stream_in_batches_with_duplicates_and_bad_rows_refused() {
        let mut csv = String::from("Email,Name,Score\n");
        for i in 0..1203 {
            csv.push_str(&format!("lead{i}@acme.example,Lead {i},70\n"));
        }
        csv.push_str("LEAD7@acme.example,Dup,71\n");
        csv.push_str("not-an-email,Bad,70\n");
        csv.push_str("x@acme.example,NoScore,\n");
        let opts = ImportOptions {
            source: "fair".into(),
            ..ImportOptions::default()
        };
        let mut batches = vec![];
        let summary = import(csv.as_bytes(), &opts, crate::clock::now(), |rows| {
            batches.push(rows.len());
            Ok(rows
                .into_iter()
                .map(|r| match r.lead {
                    Ok(_) => RowOutcome::Done(IntakeOutcome::Created),
                    Err(m) => RowOutcome::Refused(m),
                })
                .collect())
        })
        .unwrap();
        assert_eq!(batches, [500, 500, 205]);
        assert_eq!(summary.rows, 1206);
        assert_eq!(summary.created, 1203);
        assert_eq!(summary.refused, 3);
        let lines: Vec<_> = summary
            .refusals
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (1205, "external_id"),
                (1206, "contact.email"),
                (1207, "score.value")
            ]
        );
        assert!(
            summary.refusals[0].message.contains("line 9"),
            "{:?}",
            summary.refusals[0]
        );
    }
}
