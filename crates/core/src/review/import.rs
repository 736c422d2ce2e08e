//! The review's CSV import: a manager's file of leads (a CRM export, a
//! spreadsheet) sent to the server, which matches its headers to lead
//! fields, checks every row and, unless it is a dry run, takes them in.
//! What the server would not take in the form (the source name, a mapping,
//! the header row) is an answer naming that control, not an error.

use std::path::PathBuf;

use baton_protocol::{ImportSummary, WireName};
use serde::{Deserialize, Serialize};

use super::Review;
use crate::api::Upload;
use crate::error::{CoreError, Result};

/// A lead field a CSV column can fill (the server's list, less the
/// JSON-only arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ImportField {
    ExternalId,
    Name,
    FirstName,
    LastName,
    Email,
    Phone,
    Company,
    Title,
    Country,
    CompanySize,
    Score,
    Channel,
    Campaign,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Need,
    Timeline,
    Budget,
}

impl WireName for ImportField {}

/// The column that fills a lead field, where the server's own match of
/// headers to fields ("Email Address" → email) does not find it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnMapping {
    pub field: ImportField,
    /// The column's header, as in the file's first line.
    pub header: String,
}

/// How to import a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ImportOptions {
    /// Where the leads come from: 1 to 64 of a-z, 0-9, `-` and `_`. It
    /// prefixes their ids (`SOURCE:ID`), so importing the file again under
    /// the same name updates them rather than adding them twice.
    pub source: String,
    /// Check the file and say what would happen; write nothing.
    pub dry_run: bool,
    /// Store the leads as history: none is offered to a rep.
    pub no_route: bool,
    /// Columns for fields the server's match misses or gets wrong.
    #[serde(default)]
    pub mapping: Vec<ColumnMapping>,
    /// The most a score in the file can be (scores are scaled to 0–100).
    pub score_max: Option<f64>,
    /// The leads' channel when no column gives one (the source's name otherwise).
    pub channel: Option<String>,
}

/// The file to import.
#[derive(Debug)]
pub enum CsvFile {
    /// A file on disk, read as it is sent.
    Path(PathBuf),
    /// The file's bytes, as a window without file system access holds them.
    Bytes(Vec<u8>),
}

/// What an import came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CsvImport {
    /// The file was read to the end: what was (or, in a dry run, would
    /// be) created, updated or refused, row by row.
    Done { summary: ImportSummary },
    /// The server (or this client, first) would not take one control of
    /// the form: `source`, `mapping`, `score_max`, `channel`, `header` (the
    /// file's first line), or `file` (a line that is not CSV, an empty or
    /// too large file). Its message, to show next to that control.
    Invalid { field: String, message: String },
}

/// Bytes read from a file at a time while it is sent.
const CHUNK: usize = 64 * 1024;

/// A control of the form the server would not take, and why.
type Refusal = (&'static str, String);

fn invalid((field, message): Refusal) -> CsvImport {
    CsvImport::Invalid {
        field: field.into(),
        message,
    }
}

/// The server's rule for a source name, checked before a large file is
/// sent only to be refused for its name.
fn valid_source(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The query string `POST /v1/imports` takes for `options`, or what is
/// wrong with them.
pub(crate) fn import_query(options: &ImportOptions) -> Result<String, Refusal> {
    let source = options.source.trim();
    if !valid_source(source) {
        return Err((
            "source",
            "must be 1 to 64 characters of a-z, 0-9, - and _ (it prefixes the leads' ids)".into(),
        ));
    }
    let mut query = format!(
        "source={source}&dry_run={}&no_route={}",
        options.dry_run, options.no_route
    );
    if let Some(max) = options.score_max {
        if !(max.is_finite() && max > 0.0) {
            return Err(("score_max", "must be a number above 0".into()));
        }
        query.push_str(&format!("&score_max={max}"));
    }
    if let Some(channel) = options.channel.as_deref().map(str::trim)
        && !channel.is_empty()
    {
        query.push_str(&crate::api::query_value("channel", channel));
    }
    let mut mapped: Vec<(ImportField, &str)> = Vec::with_capacity(options.mapping.len());
    for m in &options.mapping {
        let field = m.field.as_str();
        let header = m.header.trim();
        if header.is_empty() {
            return Err(("mapping", format!("name the column that holds {field}")));
        }
        if let Some((_, first)) = mapped.iter().find(|(f, _)| *f == m.field) {
            return Err((
                "mapping",
                format!("{field} is mapped to two columns ({first:?} and {header:?}); keep one"),
            ));
        }
        mapped.push((m.field, header));
        query.push_str(&crate::api::query_value(&format!("map.{field}"), header));
    }
    Ok(query)
}

/// The file as a request body: a file on disk is read in chunks as it is
/// sent, never held whole.
async fn upload(csv: CsvFile) -> Result<Upload> {
    match csv {
        CsvFile::Bytes(bytes) => Ok(Upload {
            length: bytes.len() as u64,
            body: reqwest::Body::from(bytes),
        }),
        CsvFile::Path(path) => {
            let cannot = |e: std::io::Error| {
                CoreError::InvalidInput(format!("cannot read {}: {e}", path.display()))
            };
            let file = tokio::fs::File::open(&path).await.map_err(cannot)?;
            let length = file.metadata().await.map_err(cannot)?.len();
            let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
                use tokio::io::AsyncReadExt;
                let mut chunk = vec![0u8; CHUNK];
                let n = file.read(&mut chunk).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(None);
                }
                chunk.truncate(n);
                Ok(Some((chunk, file)))
            });
            Ok(Upload {
                length,
                body: reqwest::Body::wrap_stream(chunks),
            })
        }
    }
}

impl Review {
    /// Imports a CSV file as `options` say (a dry run writes nothing).
    /// What the server (or this client, before sending anything) would not
    /// take in the form is an answer naming that control, not an error.
    pub async fn import_csv(&self, csv: CsvFile, options: &ImportOptions) -> Result<CsvImport> {
        let query = match import_query(options) {
            Ok(query) => query,
            Err(refusal) => return Ok(invalid(refusal)),
        };
        let upload = upload(csv).await?;
        if upload.length == 0 {
            return Ok(invalid((
                "file",
                "the file is empty: its first line should name the columns".into(),
            )));
        }
        self.api.import_csv(upload, &query, options.dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the stand-in server was asked: the request line, the headers
    /// (lower-cased names) and the body, byte for byte.
    struct Asked {
        line: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Asked {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// A stand-in server on 127.0.0.1 that reads one request to the end of
    /// its `Content-Length`, answers it with `status` and a JSON `body`,
    /// and hands back what it was asked.
    async fn answer_once(
        status: &'static str,
        body: &'static str,
    ) -> (Review, tokio::task::JoinHandle<Asked>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let head_end = loop {
                if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended before its head did");
                got.extend_from_slice(&buf[..n]);
            };
            let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
            let mut lines = head.lines();
            let line = lines.next().unwrap_or_default().to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    Some((name.trim().to_ascii_lowercase(), value.trim().to_string()))
                })
                .collect();
            let length = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .expect("the upload declares its length");
            while got.len() < head_end + length {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended before its body did");
                got.extend_from_slice(&buf[..n]);
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).await.unwrap();
            Asked {
                line,
                headers,
                body: got[head_end..].to_vec(),
            }
        });
        (review_at(&base), served)
    }

    fn review_at(base: &str) -> Review {
        Review::against(base)
    }

    const SUMMARY: &str = r#"{"source":"crm-2025","dry_run":true,"routed":false,"rows":1200,"created":1197,"updated":0,"unchanged":0,"refused":3,"columns":[{"header":"Email Address","field":"email"},{"header":"Punkte","field":"score"}],"ignored_columns":["Notes"],"refusals":[{"line":7,"field":"contact.email","message":"\"bob@\" is not an email address"}],"elapsed_ms":840}"#;

    /// A file of more than one chunk, with a header and cells outside ASCII.
    fn big_csv() -> Vec<u8> {
        let mut csv = String::from("Email Address,Punkte,Société,Notes\r\n");
        for i in 0..4000 {
            csv.push_str(&format!(
                "lead{i}@example.com,{},Müller & Söhne,\"a note, with a comma\"\r\n",
                i % 100
            ));
        }
        assert!(csv.len() > 2 * CHUNK);
        csv.into_bytes()
    }

    fn options() -> ImportOptions {
        ImportOptions {
            source: " crm-2025 ".into(),
            dry_run: true,
            no_route: true,
            mapping: vec![
                ColumnMapping {
                    field: ImportField::Score,
                    header: " Punkte ".into(),
                },
                ColumnMapping {
                    field: ImportField::Company,
                    header: "Société".into(),
                },
            ],
            score_max: Some(250.0),
            channel: Some("  ".into()),
        }
    }

    #[tokio::test]
    async fn a_file_on_disk_is_streamed_intact_with_its_options_in_the_query() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm export.csv");
        let csv = big_csv();
        std::fs::write(&path, &csv).unwrap();
        let (review, served) = answer_once("200 OK", SUMMARY).await;

        let answer = review
            .import_csv(CsvFile::Path(path), &options())
            .await
            .unwrap();
        let CsvImport::Done { summary } = answer else {
            panic!("not done: {answer:?}");
        };
        assert_eq!(
            (summary.rows, summary.created, summary.refused),
            (1200, 1197, 3)
        );
        assert_eq!(summary.columns[1].header, "Punkte");
        assert_eq!(summary.refusals[0].line, 7);

        let asked = served.await.unwrap();
        assert_eq!(
            asked.line,
            "POST /v1/imports?source=crm-2025&dry_run=true&no_route=true&score_max=250&map.score=Punkte&map.company=Soci%C3%A9t%C3%A9 HTTP/1.1"
        );
        assert_eq!(asked.header("content-type"), Some("text/csv"));
        assert_eq!(asked.header("authorization"), Some("Bearer btn_mgr_test"));
        assert_eq!(
            asked.header("content-length"),
            Some(csv.len().to_string().as_str())
        );
        assert_eq!(asked.header("transfer-encoding"), None);
        assert!(asked.body == csv, "the body arrived changed");
    }

    #[tokio::test]
    async fn bytes_from_the_window_arrive_intact() {
        let csv = big_csv();
        let (review, served) = answer_once("200 OK", SUMMARY).await;
        let options = ImportOptions {
            source: "crm-2025".into(),
            dry_run: false,
            channel: Some("trade fair".into()),
            ..ImportOptions::default()
        };
        let answer = review
            .import_csv(CsvFile::Bytes(csv.clone()), &options)
            .await
            .unwrap();
        assert!(matches!(answer, CsvImport::Done { .. }), "{answer:?}");
        let asked = served.await.unwrap();
        assert_eq!(
            asked.line,
            "POST /v1/imports?source=crm-2025&dry_run=false&no_route=false&channel=trade%20fair HTTP/1.1"
        );
        assert!(asked.body == csv, "the body arrived changed");
    }

    #[tokio::test]
    async fn a_file_without_a_score_column_is_answered_with_the_header_and_why() {
        let (review, served) = answer_once(
            "422 Unprocessable Entity",
            r#"{"error":{"code":"invalid_field","message":"no column holds the score (looked for score, lead_score, hubspotscore, hubspot_score); map one, e.g. --map score=\"Lead Score\"","field":"header"}}"#,
        )
        .await;
        let answer = review
            .import_csv(
                CsvFile::Bytes(b"Email,Name\r\na@example.com,Ann\r\n".to_vec()),
                &ImportOptions {
                    source: "fair".into(),
                    dry_run: true,
                    ..ImportOptions::default()
                },
            )
            .await
            .unwrap();
        let CsvImport::Invalid { field, message } = answer else {
            panic!("not refused: {answer:?}");
        };
        assert_eq!(field, "header");
        assert!(
            message.starts_with("no column holds the score"),
            "{message}"
        );
        assert_eq!(
            served.await.unwrap().body,
            b"Email,Name\r\na@example.com,Ann\r\n"
        );
    }

    #[tokio::test]
    async fn what_the_server_would_refuse_in_the_form_is_answered_before_anything_is_sent() {
        // Nothing listens on the discard port: a request would fail as offline.
        let review = review_at("http://127.0.0.1:9");
        let file = || CsvFile::Bytes(b"email,score\r\na@example.com,80\r\n".to_vec());
        let field_of = |answer: CsvImport| match answer {
            CsvImport::Invalid { field, .. } => field,
            other => panic!("not refused: {other:?}"),
        };
        for (options, field) in [
            (
                ImportOptions {
                    source: "Web Leads".into(),
                    ..ImportOptions::default()
                },
                "source",
            ),
            (ImportOptions::default(), "source"),
            (
                ImportOptions {
                    source: "x".repeat(65),
                    ..ImportOptions::default()
                },
                "source",
            ),
            (
                ImportOptions {
                    source: "fair".into(),
                    score_max: Some(0.0),
                    ..ImportOptions::default()
                },
                "score_max",
            ),
            (
                ImportOptions {
                    source: "fair".into(),
                    mapping: vec![ColumnMapping {
                        field: ImportField::Email,
                        header: " ".into(),
                    }],
                    ..ImportOptions::default()
                },
                "mapping",
            ),
            (
                ImportOptions {
                    source: "fair".into(),
                    mapping: vec![
                        ColumnMapping {
                            field: ImportField::Score,
                            header: "Points".into(),
                        },
                        ColumnMapping {
                            field: ImportField::Score,
                            header: "Lead Score".into(),
                        },
                    ],
                    ..ImportOptions::default()
                },
                "mapping",
            ),
        ] {
            let answer = review.import_csv(file(), &options).await.unwrap();
            assert_eq!(field_of(answer), field, "{options:?}");
        }
        let empty = review
            .import_csv(
                CsvFile::Bytes(vec![]),
                &ImportOptions {
                    source: "fair".into(),
                    ..ImportOptions::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(field_of(empty), "file");

        let dir = tempfile::tempdir().unwrap();
        let e = review
            .import_csv(
                CsvFile::Path(dir.path().join("gone.csv")),
                &ImportOptions {
                    source: "fair".into(),
                    ..ImportOptions::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, CoreError::InvalidInput(_)), "{e:?}");
        assert!(e.to_string().contains("gone.csv"), "{e}");
    }

    #[test]
    fn every_field_a_column_can_fill_has_its_servers_name() {
        let names = [
            ImportField::ExternalId,
            ImportField::CompanySize,
            ImportField::UtmContent,
        ]
        .map(|f| f.as_str());
        assert_eq!(names, ["external_id", "company_size", "utm_content"]);
        assert_eq!(
            ImportField::parse("utm_source").unwrap(),
            ImportField::UtmSource
        );
        assert!(ImportField::parse("quiz").is_err());
    }
}
