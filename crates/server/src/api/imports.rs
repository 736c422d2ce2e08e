//! `POST /v1/imports`: a manager's CSV upload (the review's import), read
//! as it arrives and imported as `baton-server import` does.

use axum::Json;
use axum::extract::{Request, State};
use baton_protocol::ImportSummary;
use futures_util::TryStreamExt;

use super::{AdminAuth, AppState, Params, params};
use crate::error::{Error, Result};
use crate::import::{self, ImportOptions};

fn flag(p: &std::collections::HashMap<String, String>, name: &str) -> Result<bool> {
    match p.get(name).map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(_) => Err(Error::query(name, "must be true or false")),
    }
}

/// Query: `source` (required), `dry_run`, `no_route`, `channel`,
/// `score_max`, and `map.FIELD=HEADER` for each explicit mapping. Body:
/// the CSV file (`text/csv`).
pub async fn post_import(
    State(s): State<AppState>,
    _auth: AdminAuth,
    q: Params,
    req: Request,
) -> Result<Json<ImportSummary>> {
    let p = params(q)?;
    let source = p
        .get("source")
        .cloned()
        .ok_or_else(|| Error::query("source", "name the source the leads come from"))?;
    import::check_source_name(&source)
        .map_err(|_| Error::query("source", "must be 1 to 64 characters of a-z, 0-9, - and _"))?;
    let score_max = match p.get("score_max") {
        None => None,
        Some(v) => Some(
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| Error::query("score_max", "must be a number above 0"))?,
        ),
    };
    let mapping = p
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("map.").map(|f| (f.to_string(), v.clone())))
        .collect();
    let opts = ImportOptions {
        source,
        channel: p.get("channel").cloned().filter(|c| !c.trim().is_empty()),
        score_max,
        mapping,
        dry_run: flag(&p, "dry_run")?,
        route: !flag(&p, "no_route")?,
    };
    if let Some(c) = &opts.channel {
        crate::validate::text("channel", c, 1, 64)?;
    }
    let limit = s.config.limits.import_max_mib * 1024 * 1024;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::PayloadTooLarge { limit });
    }
    // The body, read as the import asks for it, and never more than the limit.
    let body = http_body_util::Limited::new(req.into_body(), limit);
    let over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over_seen = over.clone();
    let stream = http_body_util::BodyDataStream::new(body).map_err(move |e| {
        let too_large = e
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if too_large {
            over_seen.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        std::io::Error::other(if too_large {
            format!("the file is larger than {} MiB", limit / (1024 * 1024))
        } else {
            format!("the upload could not be read: {e}")
        })
    });
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    match import::run(s.db.clone(), s.config.clone(), reader, opts).await {
        Ok(summary) => Ok(Json(summary)),
        // Rows before the limit were imported (and a retry of a smaller
        // file changes them no more); the answer says why it stopped.
        Err(_) if over.load(std::sync::atomic::Ordering::SeqCst) => {
            Err(Error::PayloadTooLarge { limit })
        }
        Err(e) => Err(e),
    }
}
