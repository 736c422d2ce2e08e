//! Tally `FORM_RESPONSE` webhooks.
//!
//! Signature: `Tally-Signature` = base64(HMAC-SHA256(signing secret, raw
//! body)). Fields are matched by their `key` (or, failing that, their
//! label); a choice's value is a list of option ids, resolved to the
//! options' text; `CALCULATED_FIELDS` carry the score and `HIDDEN_FIELDS`
//! the UTM values.

use axum::http::HeaderMap;
use baton_protocol::{QuizAnswer, ScoreItem};
use serde_json::Value;

use super::signature::verify_body_signature;
use super::{
    Draft, Found, MapError, SourceConfig, lead_field_for, number_of, quiz_text, read_hidden,
};

pub fn verify(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    verify_body_signature(secret, headers, "Tally-Signature", "", body)
}

pub fn event_id(v: &Value) -> Option<String> {
    v.get("eventId")
        .and_then(Value::as_str)
        .or_else(|| v.pointer("/data/responseId").and_then(Value::as_str))
        .map(str::to_string)
}

/// A field's value as text: option ids become the options' text.
fn value_text(f: &Value) -> Option<String> {
    let value = f.get("value")?;
    let options = f.get("options").and_then(Value::as_array);
    let option_text = |id: &str| -> String {
        options
            .and_then(|o| {
                o.iter()
                    .find(|opt| opt.get("id").and_then(Value::as_str) == Some(id))
                    .and_then(|opt| opt.get("text").and_then(Value::as_str))
            })
            .unwrap_or(id)
            .to_string()
    };
    Some(match value {
        Value::Null => return None,
        Value::String(s) if options.is_some() => option_text(s),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "Yes" } else { "No" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|item| match item {
                    Value::String(s) if options.is_some() => Some(option_text(s)),
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    // Uploaded files: their names.
                    Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                })
                .collect();
            if parts.is_empty() {
                return None;
            }
            parts.join(", ")
        }
        Value::Object(_) => return None,
    })
}

pub fn read(cfg: &SourceConfig, v: &Value) -> Result<Draft, MapError> {
    if v.get("eventType").and_then(Value::as_str) != Some("FORM_RESPONSE") {
        return Err(MapError::new(
            "body",
            "is not a Tally FORM_RESPONSE webhook (eventType must be FORM_RESPONSE)",
        ));
    }
    let data = v
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| MapError::new("body", "has no data object"))?;
    let fields = data
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| MapError::new("body", "data.fields is not a list"))?;
    let external_id = match cfg.mapped("external_id") {
        None => data
            .get("responseId")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(|s| Found {
                value: s.trim().to_string(),
                from: "data.responseId".into(),
            }),
        Some(_) => None,
    };
    let mut d = Draft {
        external_id,
        ..Draft::default()
    };
    let score_at = cfg.mapped("score");
    let calculated = fields
        .iter()
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("CALCULATED_FIELDS"))
        .count();
    for f in fields {
        let key = f.get("key").and_then(Value::as_str).unwrap_or("");
        let label = f.get("label").and_then(Value::as_str).unwrap_or("");
        let kind = f.get("type").and_then(Value::as_str).unwrap_or("");
        // A checkbox group also sends one boolean field per option; the
        // group's own field (a list of option ids) says the same.
        if kind == "CHECKBOXES" && f.get("value").is_some_and(Value::is_boolean) {
            continue;
        }
        let named = |at: &str| at == key || (!label.is_empty() && at == label);
        let from = format!("field {key:?} ({label:?})");
        if kind == "CALCULATED_FIELDS" {
            let is_score = match score_at {
                Some(at) => named(at),
                None => label.eq_ignore_ascii_case("score") || calculated == 1,
            };
            let n = f.get("value").and_then(number_of);
            if is_score {
                if let Some(n) = n {
                    d.score = Some(Found { value: n, from });
                }
            } else if let Some(n) = n {
                d.breakdown.push(ScoreItem {
                    criterion: quiz_text(if label.is_empty() { key } else { label }, 200),
                    points: n.round().clamp(-1000.0, 1000.0) as i32,
                });
            }
            continue;
        }
        let Some(text) = value_text(f) else { continue };
        if cfg.mapped("external_id").is_some_and(named) {
            d.external_id = Some(Found {
                value: text.trim().to_string(),
                from,
            });
            continue;
        }
        if score_at.is_some_and(named)
            && let Some(n) = f.get("value").and_then(number_of)
        {
            d.score = Some(Found { value: n, from });
            continue;
        }
        if let Some(field) = lead_field_for(cfg, key).or_else(|| lead_field_for(cfg, label)) {
            d.set(field, text, from);
            continue;
        }
        match kind {
            "HIDDEN_FIELDS" => {
                read_hidden(cfg, &mut d, label, &text, from);
                continue;
            }
            "INPUT_EMAIL" if !cfg.fields.contains_key("email") && !d.text.contains_key("email") => {
                d.set("email", text, from);
                continue;
            }
            "INPUT_PHONE_NUMBER"
                if !cfg.fields.contains_key("phone") && !d.text.contains_key("phone") =>
            {
                d.set("phone", text, from);
                continue;
            }
            _ => {}
        }
        let question = if label.trim().is_empty() { key } else { label };
        let answer = quiz_text(&text, 2000);
        if question.trim().is_empty() || answer.is_empty() {
            continue;
        }
        d.quiz.push(QuizAnswer {
            question: quiz_text(question, 500),
            answer,
            points: None,
        });
    }
    Ok(d)
}
