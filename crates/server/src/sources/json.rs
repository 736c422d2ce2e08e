//! Any other tool: a JSON body mapped by JSON pointers, signed with an
//! HMAC-SHA256 of the body in a header the config names (hex or base64,
//! optionally `sha256=`-prefixed).

use axum::http::HeaderMap;
use baton_protocol::{Behaviour, QuizAnswer, ScoreItem};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::signature::{from_base64, single_header, verify_hmac};
use super::{Draft, Found, MapError, SourceConfig, number_of};

pub fn verify(secret: &[u8], header: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let value = single_header(headers, header)?.trim();
    let value = value.strip_prefix("sha256=").unwrap_or(value);
    let claimed = hex::decode(value)
        .ok()
        .filter(|b| b.len() == 32)
        .or_else(|| from_base64(value))
        .ok_or_else(|| format!("{header} is neither hex nor base64"))?;
    if verify_hmac(secret, &[body], &claimed) {
        Ok(())
    } else {
        Err(format!("{header} does not match the body"))
    }
}

/// A scalar as text (ids may be numbers).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list<T: DeserializeOwned>(
    v: &Value,
    pointer: &str,
    lead_field: &str,
) -> Result<Vec<T>, MapError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(found) => serde_json::from_value(found.clone()).map_err(|e| {
            MapError::new(
                lead_field,
                format!("the value at {pointer} is not a list in the protocol's shape: {e}"),
            )
        }),
    }
}

pub fn read(cfg: &SourceConfig, v: &Value) -> Result<Draft, MapError> {
    let mut d = Draft::default();
    for (field, pointer) in &cfg.fields {
        let from = pointer.to_string();
        match field.as_str() {
            "external_id" => {
                d.external_id = v
                    .pointer(pointer)
                    .and_then(scalar_text)
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| Found {
                        value: t.trim().to_string(),
                        from,
                    });
            }
            "score" => match v.pointer(pointer) {
                None | Some(Value::Null) => {}
                Some(found) => {
                    let n = number_of(found).ok_or_else(|| {
                        MapError::new(
                            "score.value",
                            format!("the value at {pointer} is not a number"),
                        )
                    })?;
                    d.score = Some(Found { value: n, from });
                }
            },
            "quiz" => d.quiz = list::<QuizAnswer>(v, pointer, "quiz")?,
            "behaviours" => d.behaviours = list::<Behaviour>(v, pointer, "behaviours")?,
            "breakdown" => d.breakdown = list::<ScoreItem>(v, pointer, "score.breakdown")?,
            other => {
                if let Some(text) = v.pointer(pointer).and_then(scalar_text)
                    && let Some(lf) = super::LEAD_FIELDS.iter().find(|f| **f == other)
                {
                    d.set(lf, text, from);
                }
            }
        }
    }
    Ok(d)
}
