//! A manager's review: the handoff report and score calibration for a
//! period, kept on disk so the last one loaded stays readable offline, and
//! exported as CSV; the failed intakes (deliveries from inbound sources
//! that could not be mapped to a lead) a manager retries or dismisses; the
//! endpoints the server sends its outbound events to (`webhooks`); the
//! CSV files of leads a manager imports (`import`); the definition of a
//! qualified lead (`definitions`); the team's reps, managers' scopes and the
//! audit log (`team`); and the missed SLAs a manager is told of
//! (`escalations`).

use std::path::{Path, PathBuf};

use baton_protocol::WireName;
use baton_protocol::{
    CalibrationReport, DailyRow, FeedbackLogEntry, HandoffReport, IntakeReceipt, IntakeReceiptList,
    Lead, LeadHistory, LeadId, QueuedLead, ReasonSplit, ReceiptStatus, ReportRow, Role,
    SourceIntakeResponse, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::api::ApiClient;
use crate::error::{CoreError, Result};
use crate::profile::Profile;

mod definitions;
mod escalations;
mod import;
mod team;
mod webhooks;
pub use definitions::tidy_draft;
pub use escalations::{ESCALATION_POLL, EscalationWatch};
pub use import::{ColumnMapping, CsvFile, CsvImport, ImportField, ImportOptions};
pub use team::{AUDIT_PAGE_MAX, TeamOverview, managed_teams};
pub use webhooks::{DELIVERIES_PAGE_MAX, WebhookCreation};

/// Decisions listed in the feedback log of one review.
pub const LOG_LIMIT: u32 = 10_000;

/// What the review area shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewData {
    pub handoff: HandoffReport,
    pub calibration: CalibrationReport,
    /// Leads waiting now for want of an eligible rep.
    #[serde(default)]
    pub queue: Vec<QueuedLead>,
    /// When the server produced these figures.
    pub fetched_at: Timestamp,
    /// True when the server could not be reached and this is the last review
    /// loaded (see `fetched_at` for its age).
    pub offline: bool,
}

/// A lead as the review opens it: its context and everything that happened to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewLead {
    pub lead: Lead,
    pub history: LeadHistory,
}

/// Which period, and the acceptance rate to calibrate for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    /// One team's offers only; `None` for every team.
    pub team: Option<String>,
    pub target_rate: Option<f64>,
}

/// Most failed intakes one page lists (the server's own cap).
pub const FAILURES_PAGE_MAX: u32 = 200;

/// Which failed intakes to list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct FailureQuery {
    /// `failed` for the open ones (what a manager acts on), `reprocessed`
    /// or `dismissed` for the settled ones; `None` for every delivery that
    /// failed at first, whatever became of it.
    pub status: Option<ReceiptStatus>,
    /// One configured source's only.
    pub source: Option<String>,
    /// The page after the one whose `next_before` this is.
    pub before: Option<i64>,
    /// How many (1 to [`FAILURES_PAGE_MAX`]; the server's default when `None`).
    pub limit: Option<u32>,
}

/// Receipt ids come from the UI: one that is not a server id is refused here.
fn receipt_id(id: i64) -> Result<i64> {
    if id <= 0 {
        return Err(CoreError::InvalidInput(format!(
            "{id} is not an intake id: intake ids are positive numbers"
        )));
    }
    Ok(id)
}

pub struct Review {
    api: ApiClient,
    cache: PathBuf,
}

impl Review {
    /// A review of the server at `base` with a made-up manager token and
    /// no cache, for unit tests against a stand-in server.
    #[cfg(test)]
    pub(crate) fn against(base: &str) -> Review {
        Review {
            api: ApiClient::new(base, "btn_mgr_test").unwrap(),
            cache: std::env::temp_dir().join("baton-review-test-unused.json"),
        }
    }

    /// Opens the signed-in manager's profile.
    pub fn open(profile: &Profile) -> Result<Review> {
        let settings = profile.settings()?.ok_or(CoreError::NotSignedIn)?;
        if settings.role != Role::Manager {
            return Err(CoreError::NotActionable(
                "the review is for managers: this profile belongs to a rep".into(),
            ));
        }
        let token = profile.token(&settings)?;
        Ok(Review {
            api: ApiClient::new(&settings.server, &token)?,
            cache: profile.dir.join("review.json"),
        })
    }

    /// Loads the review from the server; when it cannot be reached, the last
    /// review loaded, marked `offline`.
    pub async fn load(&self, q: &ReviewQuery) -> Result<ReviewData> {
        if q.from >= q.to {
            return Err(CoreError::InvalidInput(
                "the period's start must be before its end".into(),
            ));
        }
        if let Some(t) = q.target_rate
            && !(0.0..=1.0).contains(&t)
        {
            return Err(CoreError::InvalidInput(
                "the target acceptance rate is a share from 0 to 1 (e.g. 0.6 for 60%)".into(),
            ));
        }
        let fetched = async {
            let team = q.team.as_deref().filter(|t| !t.is_empty());
            let handoff = self
                .api
                .handoff_report(q.from, q.to, team, LOG_LIMIT)
                .await?;
            let calibration = self
                .api
                .calibration_report(q.from, q.to, team, q.target_rate)
                .await?;
            let queue = self.api.queue().await?.queued;
            Ok::<_, CoreError>((handoff, calibration, queue))
        }
        .await;
        match fetched {
            Ok((handoff, calibration, queue)) => {
                let data = ReviewData {
                    handoff,
                    calibration,
                    queue,
                    fetched_at: Timestamp::now(),
                    offline: false,
                };
                self.save(&data)?;
                Ok(data)
            }
            Err(e) if e.is_transient() => match self.cached()? {
                Some(mut data) => {
                    data.offline = true;
                    Ok(data)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// One lead's full context and history, for a row of the feedback log.
    pub async fn lead(&self, id: LeadId) -> Result<ReviewLead> {
        let (lead, history) =
            futures_util::try_join!(self.api.lead(id), self.api.lead_history(id))?;
        Ok(ReviewLead { lead, history })
    }

    /// Failed intakes, newest first, with the page's `next_before`.
    pub async fn intake_failures(&self, q: &FailureQuery) -> Result<IntakeReceiptList> {
        if matches!(
            q.status,
            Some(ReceiptStatus::Applied | ReceiptStatus::Unknown)
        ) {
            return Err(CoreError::InvalidInput(
                "failed intakes are failed, reprocessed or dismissed; a lead's applied deliveries are listed with the lead".into(),
            ));
        }
        let before = q.before.map(receipt_id).transpose()?;
        let limit = q.limit.unwrap_or(50).clamp(1, FAILURES_PAGE_MAX);
        let source = q.source.as_deref().filter(|s| !s.is_empty());
        self.api
            .intake_failures(q.status, source, before, limit)
            .await
    }

    /// Maps a failed intake again, with the source's mapping as the server
    /// is configured now. A delivery that still cannot be mapped is an
    /// answer (outcome `failed`, with the field and why), not an error; one
    /// a manager dismissed is refused (`conflict`).
    pub async fn retry_intake(&self, id: i64) -> Result<SourceIntakeResponse> {
        self.api.retry_intake(receipt_id(id)?).await
    }

    /// Marks a failed intake as not a lead; it leaves the open ones.
    /// Refused (`conflict`) when it had made a lead.
    pub async fn dismiss_intake(&self, id: i64) -> Result<IntakeReceipt> {
        self.api.dismiss_intake(receipt_id(id)?).await
    }

    /// The raw deliveries that created or updated a lead, newest first.
    pub async fn lead_receipts(&self, id: LeadId) -> Result<IntakeReceiptList> {
        if id <= 0 {
            return Err(CoreError::InvalidInput(format!(
                "{id} is not a lead id: lead ids are positive numbers"
            )));
        }
        self.api.lead_receipts(id).await
    }

    /// The last review loaded, if any.
    pub fn cached(&self) -> Result<Option<ReviewData>> {
        match std::fs::read_to_string(&self.cache) {
            // A review kept by an older Baton that no longer parses is
            // simply not shown; the next load replaces it.
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CoreError::Profile(format!(
                "cannot read {}: {e}",
                self.cache.display()
            ))),
        }
    }

    /// Keeps the review for offline use, readable only by the manager (0600):
    /// it names leads and reps.
    fn save(&self, data: &ReviewData) -> Result<()> {
        crate::profile::write_private(&self.cache, &serde_json::to_vec(data)?)
            .map_err(|e| CoreError::Profile(format!("cannot keep the review offline: {e}")))
    }
}

/// The tables a review can export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReviewTable {
    FeedbackLog,
    ByRep,
    BySource,
    ByScoreBand,
    ByCampaign,
    ByTeam,
    Daily,
    Weekly,
    Reasons,
    ReasonsByRep,
    ReasonsBySource,
    Fairness,
    QueueWaits,
    Calibration,
    SourceCalibration,
}

/// One CSV cell. Lead content is untrusted: a cell a spreadsheet would run
/// as a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn line(out: &mut String, cells: &[String]) {
    let row: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

/// Writes a header line, then one line per row.
fn table(out: &mut String, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    line(
        out,
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    for r in rows {
        line(out, &r);
    }
}

fn report_rows(out: &mut String, rows: &[ReportRow]) {
    table(
        out,
        &[
            "key",
            "label",
            "assigned",
            "accepted",
            "rejected",
            "acceptance_rate",
            "median_seconds_to_accept",
            "p90_seconds_to_accept",
            "sla_breaches",
            "median_seconds_to_decision",
            "p90_seconds_to_decision",
            "decided_within_5_min",
            "decided_within_1_hour",
        ],
        rows.iter().map(|r| {
            vec![
                r.key.clone(),
                r.label.clone(),
                r.assigned.to_string(),
                r.accepted.to_string(),
                r.rejected.to_string(),
                opt(r.acceptance_rate),
                opt(r.median_seconds_to_accept),
                opt(r.p90_seconds_to_accept),
                r.sla_breaches.to_string(),
                opt(r.median_seconds_to_decision),
                opt(r.p90_seconds_to_decision),
                opt(r.decided_within_5_min),
                opt(r.decided_within_1_hour),
            ]
        }),
    );
}

fn trend(out: &mut String, rows: &[DailyRow]) {
    table(
        out,
        &[
            "period_start",
            "assigned",
            "accepted",
            "rejected",
            "acceptance_rate",
            "median_seconds_to_decision",
            "p90_seconds_to_decision",
            "decided_within_1_hour",
        ],
        rows.iter().map(|d| {
            vec![
                d.day.clone(),
                d.assigned.to_string(),
                d.accepted.to_string(),
                d.rejected.to_string(),
                opt(d.acceptance_rate),
                opt(d.median_seconds_to_decision),
                opt(d.p90_seconds_to_decision),
                opt(d.decided_within_1_hour),
            ]
        }),
    );
}

fn splits(out: &mut String, group: &str, rows: &[ReasonSplit]) {
    table(
        out,
        &[group, "label", "reason", "reason_label", "rejections"],
        rows.iter().map(|r| {
            vec![
                r.key.clone(),
                r.label.clone(),
                r.code.clone(),
                r.reason_label.clone(),
                r.rejections.to_string(),
            ]
        }),
    );
}

fn log(out: &mut String, rows: &[FeedbackLogEntry]) {
    table(
        out,
        &[
            "decided_at",
            "lead_id",
            "external_id",
            "lead",
            "company",
            "source",
            "score",
            "rep",
            "decision",
            "reason",
            "note",
            "assigned_at",
            "seconds_to_decision",
        ],
        rows.iter().map(|e| {
            vec![
                e.decided_at.to_rfc3339(),
                e.lead_id.to_string(),
                e.external_id.clone(),
                e.lead_name.clone(),
                opt(e.company.as_ref()),
                e.source.clone(),
                e.score.to_string(),
                e.rep_name.clone(),
                e.decision.as_str().to_string(),
                opt(e.reason.as_ref()),
                opt(e.note.as_ref()),
                e.assigned_at.to_rfc3339(),
                e.seconds_to_decision.to_string(),
            ]
        }),
    );
}

/// The table as CSV (RFC 4180: comma-separated, CRLF, quoted where needed).
pub fn csv(data: &ReviewData, which: ReviewTable) -> String {
    let mut out = String::new();
    let o = &mut out;
    let h = &data.handoff;
    let c = &data.calibration;
    match which {
        ReviewTable::FeedbackLog => log(o, &h.feedback_log),
        ReviewTable::ByRep => report_rows(o, &h.by_rep),
        ReviewTable::BySource => report_rows(o, &h.by_source),
        ReviewTable::ByScoreBand => report_rows(o, &h.by_score_band),
        ReviewTable::ByCampaign => report_rows(o, &h.by_campaign),
        ReviewTable::ByTeam => report_rows(o, &h.by_team),
        ReviewTable::Daily => trend(o, &h.daily),
        ReviewTable::Weekly => trend(o, &h.weekly),
        ReviewTable::Reasons => table(
            o,
            &["code", "label", "rejections", "share"],
            h.by_reason.iter().map(|r| {
                vec![
                    r.code.clone(),
                    r.label.clone(),
                    r.rejections.to_string(),
                    r.share.to_string(),
                ]
            }),
        ),
        ReviewTable::ReasonsByRep => splits(o, "rep_id", &h.reasons_by_rep),
        ReviewTable::ReasonsBySource => splits(o, "source", &h.reasons_by_source),
        ReviewTable::Fairness => table(
            o,
            &[
                "rep_id",
                "rep",
                "team",
                "weight",
                "max_open",
                "offered",
                "accepted",
                "rerouted",
                "share_of_offers",
                "share_of_weight",
            ],
            h.fairness.iter().map(|f| {
                vec![
                    f.rep_id.to_string(),
                    f.rep_name.clone(),
                    f.team.clone(),
                    f.weight.to_string(),
                    f.max_open.to_string(),
                    f.offered.to_string(),
                    f.accepted.to_string(),
                    f.rerouted.to_string(),
                    f.share_of_offers.to_string(),
                    f.share_of_weight.to_string(),
                ]
            }),
        ),
        ReviewTable::QueueWaits => table(
            o,
            &[
                "team",
                "queued",
                "assigned",
                "withdrawn",
                "waiting",
                "median_wait_seconds",
                "p90_wait_seconds",
                "longest_wait_seconds",
            ],
            h.queue_waits.iter().map(|q| {
                vec![
                    q.team.clone(),
                    q.queued.to_string(),
                    q.assigned.to_string(),
                    q.withdrawn.to_string(),
                    q.waiting.to_string(),
                    opt(q.median_wait_seconds),
                    opt(q.p90_wait_seconds),
                    opt(q.longest_wait_seconds),
                ]
            }),
        ),
        ReviewTable::Calibration => table(
            o,
            &[
                "band",
                "accepted",
                "rejected",
                "acceptance_rate",
                "threshold",
            ],
            c.by_band.iter().map(|b| {
                vec![
                    b.band.clone(),
                    b.accepted.to_string(),
                    b.rejected.to_string(),
                    opt(b.acceptance_rate),
                    c.threshold.to_string(),
                ]
            }),
        ),
        ReviewTable::SourceCalibration => table(
            o,
            &[
                "source",
                "decided",
                "rejected",
                "expected_rejected",
                "rejection_ratio",
                "z_score",
                "flagged",
            ],
            c.by_source.iter().map(|x| {
                vec![
                    x.source.clone(),
                    x.decided.to_string(),
                    x.rejected.to_string(),
                    x.expected_rejected.to_string(),
                    opt(x.rejection_ratio),
                    opt(x.z_score),
                    x.flagged.to_string(),
                ]
            }),
        ),
    }
    out
}

/// Writes `csv` as `dir/baton-<table>-<date>.csv` (a number added when that
/// exists) and returns the path.
pub fn export(dir: &Path, table: ReviewTable, csv: &str) -> Result<PathBuf> {
    let name = serde_json::to_value(table)?
        .as_str()
        .unwrap_or("table")
        .replace('_', "-");
    let date = &Timestamp::now().to_rfc3339()[..10];
    std::fs::create_dir_all(dir)
        .map_err(|e| CoreError::Profile(format!("cannot create {}: {e}", dir.display())))?;
    for n in 0..1000 {
        let file = if n == 0 {
            format!("baton-{name}-{date}.csv")
        } else {
            format!("baton-{name}-{date}-{n}.csv")
        };
        let path = dir.join(file);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(csv.as_bytes()).map_err(|e| {
                    CoreError::Profile(format!("cannot write {}: {e}", path.display()))
                })?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(CoreError::Profile(format!(
                    "cannot write {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Err(CoreError::Profile(format!(
        "too many exports named baton-{name}-{date} in {}",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_protocol::SourceOutcome;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in server on 127.0.0.1 that answers one request with
    /// `status` and a JSON `body`, and hands back the request line it got.
    async fn answer_once(
        status: &'static str,
        body: &'static str,
    ) -> (Review, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended before its head did");
                head.extend_from_slice(&buf[..n]);
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).await.unwrap();
            let head = String::from_utf8_lossy(&head).into_owned();
            head.lines().next().unwrap_or_default().to_string()
        });
        (Review::against(&base), served)
    }

    #[tokio::test]
    async fn a_retry_that_still_fails_says_which_field_and_why() {
        let (review, served) = answer_once(
            "422 Unprocessable Entity",
            r#"{"outcome":"failed","receipt_id":9,"field":"score.value","message":"no score in the answers"}"#,
        )
        .await;
        let answer = review.retry_intake(9).await.unwrap();
        assert_eq!(answer.outcome, SourceOutcome::Failed);
        assert_eq!(answer.field.as_deref(), Some("score.value"));
        assert_eq!(answer.message.as_deref(), Some("no score in the answers"));
        assert_eq!(
            served.await.unwrap(),
            "POST /v1/intake/failures/9/retry HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn dismissing_an_intake_that_made_a_lead_is_refused_as_a_conflict() {
        let (review, served) = answer_once(
            "409 Conflict",
            r#"{"error":{"code":"conflict","message":"intake 4 is not a failed intake (it made a lead); nothing to dismiss"}}"#,
        )
        .await;
        let e = review.dismiss_intake(4).await.unwrap_err();
        assert_eq!(e.refusal(), Some(baton_protocol::ErrorCode::Conflict));
        assert!(e.to_string().contains("it made a lead"), "{e}");
        assert_eq!(
            served.await.unwrap(),
            "POST /v1/intake/failures/4/dismiss HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn open_failures_are_asked_for_page_by_page() {
        let (review, served) = answer_once(
            "200 OK",
            r#"{"receipts":[{"id":30,"source":"typeform","event_id":"evt 1","received_at":"2026-11-25T10:00:00Z","status":"failed","field":"contact.email","message":"missing","body":"{}"}],"next_before":30}"#,
        )
        .await;
        let page = review
            .intake_failures(&FailureQuery {
                status: Some(ReceiptStatus::Failed),
                source: Some("type form".into()),
                before: Some(31),
                limit: Some(1_000),
            })
            .await
            .unwrap();
        assert_eq!(page.receipts.len(), 1);
        assert_eq!(page.receipts[0].field.as_deref(), Some("contact.email"));
        assert_eq!(page.next_before, Some(30));
        assert_eq!(
            served.await.unwrap(),
            "GET /v1/intake/failures?status=failed&limit=200&before=31&source=type%20form HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn nonsense_from_the_window_is_refused_before_it_reaches_the_server() {
        // Nothing listens on the discard port: a request would fail as offline.
        let review = Review::against("http://127.0.0.1:9");
        for e in [
            review.retry_intake(0).await.unwrap_err(),
            review.dismiss_intake(-3).await.unwrap_err(),
            review.lead_receipts(0).await.unwrap_err(),
            review
                .intake_failures(&FailureQuery {
                    status: Some(ReceiptStatus::Applied),
                    ..FailureQuery::default()
                })
                .await
                .unwrap_err(),
        ] {
            assert!(matches!(e, CoreError::InvalidInput(_)), "{e:?}");
        }
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1 555"), "'+1 555");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn every_table_exports_a_header_and_one_line_per_row() {
        let row = |key: &str| {
            serde_json::json!({"key": key, "label": key, "assigned": 3, "accepted": 2,
                "rejected": 1, "sla_breaches": 0, "acceptance_rate": 0.6666})
        };
        let day =
            |d: &str| serde_json::json!({"day": d, "assigned": 3, "accepted": 2, "rejected": 1});
        let t = "2026-11-25T00:00:00Z";
        let data: ReviewData = serde_json::from_value(serde_json::json!({
            "handoff": {
                "from": t, "to": t, "totals": row("all"),
                "by_rep": [row("1"), row("2")], "by_source": [row("webinar")],
                "by_score_band": [row("60-69")], "by_campaign": [row(""), row("=cmd()")],
                "by_team": [row("emea")], "by_reason": [],
                "reasons_by_rep": [{"key": "1", "label": "Ava", "code": "no_budget",
                    "reason_label": "No budget", "rejections": 1}],
                "reasons_by_source": [],
                "daily": [day("2026-11-24"), day("2026-11-25")], "weekly": [day("2026-11-23")],
                "queue_waits": [{"team": "emea", "queued": 3, "assigned": 1, "withdrawn": 1,
                    "waiting": 1, "median_wait_seconds": 60.0}],
                "fairness": [], "feedback_log": [], "feedback_log_truncated": false
            },
            "calibration": {"from": t, "to": t, "threshold": 60, "decided": 3, "accepted": 2,
                "by_band": [{"band": "60-69", "low": 60, "accepted": 2, "rejected": 1}],
                "by_source": [{"source": "webinar", "decided": 3, "rejected": 1,
                    "expected_rejected": 1.0, "flagged": false}]},
            "fetched_at": t, "offline": false
        }))
        .unwrap();
        use ReviewTable::*;
        for (table, rows) in [
            (FeedbackLog, 0),
            (ByRep, 2),
            (BySource, 1),
            (ByScoreBand, 1),
            (ByCampaign, 2),
            (ByTeam, 1),
            (Daily, 2),
            (Weekly, 1),
            (Reasons, 0),
            (ReasonsByRep, 1),
            (ReasonsBySource, 0),
            (Fairness, 0),
            (QueueWaits, 1),
            (Calibration, 1),
            (SourceCalibration, 1),
        ] {
            let text = csv(&data, table);
            let lines: Vec<&str> = text.split_terminator("\r\n").collect();
            assert_eq!(lines.len(), rows + 1, "{table:?}: {text}");
            let commas = lines[0].matches(',').count();
            assert!(
                lines.iter().all(|l| l.matches(',').count() == commas),
                "{table:?}: {text}"
            );
        }
        assert!(csv(&data, ByCampaign).contains("\r\n'=cmd(),'=cmd(),3,"));
        assert!(csv(&data, QueueWaits).ends_with("emea,3,1,1,1,60,,\r\n"));
    }
}
