//! A manager's CSV import on the server: the file uploaded as the request
//! body, the options in the query, the summary in the answer.

use std::time::Duration;

use baton_protocol::{ErrorBody, ErrorCode, ImportSummary};

use super::{ApiClient, classify_error, content_type, decode, offline};
use crate::error::{CoreError, Result};
use crate::review::CsvImport;

/// How long an import may take, upload included: the server's own bound
/// (`limits.import_timeout_secs`, 600 s by default) and a minute more, so
/// its answer, not this client, says when it gave up.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(660);

/// A file on its way to the server.
pub struct Upload {
    pub body: reqwest::Body,
    /// Sent as `Content-Length`: the server refuses a file over its bound
    /// before reading it.
    pub length: u64,
}

/// Reads the answer to an import. A 422 or 400 naming what the server
/// would not take (`header`, `mapping`, `file`; `source`, `score_max`,
/// `channel` in the query), or a 413 for a file over its bound, is an
/// answer for the form to show next to that control, not an error;
/// anything else that is not a success is classified as usual.
pub(crate) fn import_answer(
    what: &str,
    dry_run: bool,
    status: u16,
    content_type: &str,
    text: &str,
) -> Result<CsvImport> {
    if (200..=299).contains(&status) {
        return Ok(CsvImport::Done {
            summary: decode::<ImportSummary>(what, text)?,
        });
    }
    let Ok(ErrorBody { error }) = serde_json::from_str::<ErrorBody>(text) else {
        return Err(classify_error(status, content_type, text));
    };
    match (status, error.code, error.field) {
        (400 | 422, ErrorCode::InvalidField | ErrorCode::InvalidQuery, Some(field)) => {
            Ok(CsvImport::Invalid {
                field,
                message: error.message,
            })
        }
        (413, ErrorCode::PayloadTooLarge, _) => Ok(CsvImport::Invalid {
            field: "file".into(),
            message: if dry_run {
                format!("{}: split the file and check each part", error.message)
            } else {
                // The server imports as it reads: what came before the
                // bound is in, and importing it again changes nothing.
                format!(
                    "{}: the rows before the limit may already be imported; split the file and import each part (rows imported twice change nothing)",
                    error.message
                )
            },
        }),
        _ => Err(classify_error(status, content_type, text)),
    }
}

/// Why an upload got no answer.
fn upload_failed(e: reqwest::Error) -> CoreError {
    if e.is_timeout() {
        return CoreError::Offline(format!(
            "no answer within {} min; the server may still be importing: check its leads before importing the file again",
            IMPORT_TIMEOUT.as_secs() / 60
        ));
    }
    offline(e)
}

impl ApiClient {
    /// Uploads a CSV file to import (managers only). `query` is the
    /// percent-encoded query string, without its `?`.
    pub async fn import_csv(
        &self,
        upload: Upload,
        query: &str,
        dry_run: bool,
    ) -> Result<CsvImport> {
        let path = "/v1/imports";
        let resp = self
            .http
            .post(format!("{}{path}?{query}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .header(reqwest::header::CONTENT_LENGTH, upload.length)
            .timeout(IMPORT_TIMEOUT)
            .body(upload.body)
            .send()
            .await
            .map_err(upload_failed)?;
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let success = resp.status().is_success();
        let text = match resp.text().await {
            Ok(text) => text,
            // The import may have been done, but what it did is lost with
            // the answer: say so rather than guess.
            Err(e) if success => return Err(upload_failed(e)),
            Err(_) => String::new(),
        };
        import_answer(
            &format!("POST {path}"),
            dry_run,
            status,
            &content_type,
            &text,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHAT: &str = "POST /v1/imports";

    fn invalid(field: &str, message: &str) -> CsvImport {
        CsvImport::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_header_mapping_or_line_the_server_refuses_is_an_answer_naming_it() {
        let no_score = r#"{"error":{"code":"invalid_field","message":"no column holds the score (looked for score, lead_score)","field":"header"}}"#;
        assert_eq!(
            import_answer(WHAT, true, 422, "application/json", no_score).unwrap(),
            invalid(
                "header",
                "no column holds the score (looked for score, lead_score)"
            )
        );
        let mapping = r#"{"error":{"code":"invalid_field","message":"the file has no column \"Points\" (its columns: Email, Score)","field":"mapping"}}"#;
        assert_eq!(
            import_answer(WHAT, true, 422, "application/json", mapping).unwrap(),
            invalid(
                "mapping",
                "the file has no column \"Points\" (its columns: Email, Score)"
            )
        );
        let source = r#"{"error":{"code":"invalid_query","message":"must be 1 to 64 characters of a-z, 0-9, - and _","field":"source"}}"#;
        assert_eq!(
            import_answer(WHAT, false, 400, "application/json", source).unwrap(),
            invalid("source", "must be 1 to 64 characters of a-z, 0-9, - and _")
        );
    }

    #[test]
    fn a_file_over_the_servers_bound_says_what_may_be_in_already() {
        let big = r#"{"error":{"code":"payload_too_large","message":"request body is larger than 67108864 bytes"}}"#;
        let CsvImport::Invalid { field, message } =
            import_answer(WHAT, false, 413, "application/json", big).unwrap()
        else {
            panic!("not an answer for the form");
        };
        assert_eq!(field, "file");
        assert!(message.starts_with("request body is larger than 67108864 bytes: the rows before the limit may already be imported"), "{message}");
        let CsvImport::Invalid { message, .. } =
            import_answer(WHAT, true, 413, "application/json", big).unwrap()
        else {
            panic!("not an answer for the form");
        };
        assert!(!message.contains("imported"), "{message}");
    }

    #[test]
    fn what_is_not_batons_refusal_of_a_control_stays_an_error() {
        // A proxy's 413 page is not the server's bound.
        let e = import_answer(WHAT, true, 413, "text/html", "<html>413</html>").unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        // A 422 without a field cannot be shown next to a control.
        let no_field = r#"{"error":{"code":"invalid_field","message":"no"}}"#;
        let e = import_answer(WHAT, true, 422, "application/json", no_field).unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::InvalidField), "{e:?}");
        let forbidden = r#"{"error":{"code":"forbidden","message":"managers only"}}"#;
        let e = import_answer(WHAT, true, 403, "application/json", forbidden).unwrap_err();
        assert_eq!(e.refusal(), Some(ErrorCode::Forbidden), "{e:?}");
        let timeout =
            r#"{"error":{"code":"request_timeout","message":"the import took longer than 600 s"}}"#;
        let e = import_answer(WHAT, false, 408, "application/json", timeout).unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        let e = import_answer(WHAT, true, 200, "application/json", r#"{"rows":3}"#).unwrap_err();
        assert!(matches!(e, CoreError::IncompatibleServer(_)), "{e:?}");
    }
}
