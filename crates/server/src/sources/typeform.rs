//! Typeform `form_response` webhooks.
//!
//! Signature: `Typeform-Signature: sha256=` + base64(HMAC-SHA256(secret, raw
//! body)). Answers are matched by their field's `ref` (stable when the
//! question is reworded, unlike its title); the score is the variable named
//! `score` or else `calculated.score`; hidden fields carry UTM values.

use axum::http::HeaderMap;
use baton_protocol::{QuizAnswer, ScoreItem};
use serde_json::Value;

use super::signature::verify_body_signature;
use super::{
    Draft, Found, MapError, SourceConfig, lead_field_for, number_of, quiz_text, read_hidden,
};

pub fn verify(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    verify_body_signature(secret, headers, "Typeform-Signature", "sha256=", body)
}

pub fn event_id(v: &Value) -> Option<String> {
    v.get("event_id")
        .and_then(Value::as_str)
        .or_else(|| v.pointer("/form_response/token").and_then(Value::as_str))
        .map(str::to_string)
}

/// An answer's value as text, by its documented `type`.
fn answer_text(a: &Value) -> Option<String> {
    let kind = a.get("type")?.as_str()?;
    let v = a.get(kind)?;
    Some(match kind {
        "choice" => v
            .get("label")
            .or_else(|| v.get("other"))
            .and_then(Value::as_str)?
            .to_string(),
        "choices" => {
            let mut labels: Vec<String> = v
                .get("labels")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if let Some(other) = v.get("other").and_then(Value::as_str) {
                labels.push(other.to_string());
            }
            if labels.is_empty() {
                return None;
            }
            labels.join(", ")
        }
        "boolean" => if v.as_bool()? { "Yes" } else { "No" }.to_string(),
        "number" => v.as_f64().map(|n| {
            if n.fract() == 0.0 {
                format!("{}", n as i64)
            } else {
                n.to_string()
            }
        })?,
        "payment" => {
            let amount = v.get("amount").and_then(Value::as_str).unwrap_or("?");
            format!("payment of {amount}")
        }
        _ => v.as_str()?.to_string(),
    })
}

pub fn read(cfg: &SourceConfig, v: &Value) -> Result<Draft, MapError> {
    if v.get("event_type").and_then(Value::as_str) != Some("form_response") {
        return Err(MapError::new(
            "body",
            "is not a Typeform form_response webhook (event_type must be form_response)",
        ));
    }
    let fr = v
        .get("form_response")
        .filter(|f| f.is_object())
        .ok_or_else(|| MapError::new("body", "has no form_response object"))?;
    let mut d = Draft::default();
    let token_at = cfg.at("external_id", "token");
    d.external_id = fr
        .get(token_at)
        .or_else(|| fr.pointer(&format!("/hidden/{token_at}")))
        .and_then(|t| t.as_str())
        .filter(|t| !t.trim().is_empty())
        .map(|t| Found {
            value: t.trim().to_string(),
            from: format!("form_response.{token_at}"),
        });

    // Question titles by field id (answers carry the id and ref, not the title).
    let titles: std::collections::HashMap<&str, &str> = fr
        .pointer("/definition/fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| Some((f.get("id")?.as_str()?, f.get("title")?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();

    // The score: a mapped variable or number answer, else the variable
    // named score, else calculated.score.
    let score_at = cfg.mapped("score");
    let variables = fr.get("variables").and_then(Value::as_array);
    for var in variables.into_iter().flatten() {
        let (Some(key), Some(kind)) = (
            var.get("key").and_then(Value::as_str),
            var.get("type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let value = var.get(kind);
        let named = score_at.map_or(key == "score", |at| at == format!("variable:{key}"));
        if named {
            if let Some(n) = value.and_then(number_of) {
                d.score = Some(Found {
                    value: n,
                    from: format!("variable {key:?}"),
                });
            }
        } else if kind == "number"
            && let Some(n) = value.and_then(Value::as_f64)
        {
            // Other numeric variables are the score's parts (fit, intent…).
            d.breakdown.push(ScoreItem {
                criterion: quiz_text(key, 200),
                points: n.round().clamp(-1000.0, 1000.0) as i32,
            });
        }
    }
    if d.score.is_none()
        && score_at.is_none_or(|at| at == "calculated")
        && let Some(n) = fr.pointer("/calculated/score").and_then(number_of)
    {
        d.score = Some(Found {
            value: n,
            from: "calculated.score".into(),
        });
    }

    if let Some(hidden) = fr.get("hidden").and_then(Value::as_object) {
        for (name, value) in hidden {
            let Some(text) = value.as_str() else { continue };
            let from = format!("hidden field {name:?}");
            match lead_field_for(cfg, name) {
                Some(field) => d.set(field, text.to_string(), from),
                None => read_hidden(cfg, &mut d, name, text, from),
            }
        }
    }

    let answers = fr
        .get("answers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for a in answers {
        let field_ref = a
            .pointer("/field/ref")
            .and_then(Value::as_str)
            .unwrap_or("");
        let field_id = a.pointer("/field/id").and_then(Value::as_str).unwrap_or("");
        let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(text) = answer_text(a) else { continue };
        let from = format!("answer with ref {field_ref:?}");
        if score_at == Some(field_ref)
            && let Some(n) = a.get("number").and_then(Value::as_f64)
        {
            d.score = Some(Found { value: n, from });
            continue;
        }
        if let Some(field) = lead_field_for(cfg, field_ref) {
            d.set(field, text, from);
            continue;
        }
        // Unmapped contact answers fill the contact by their type.
        match kind {
            "email" if !cfg.fields.contains_key("email") && !d.text.contains_key("email") => {
                d.set("email", text, from);
                continue;
            }
            "phone_number"
                if !cfg.fields.contains_key("phone") && !d.text.contains_key("phone") =>
            {
                d.set("phone", text, from);
                continue;
            }
            _ => {}
        }
        let question = titles
            .get(field_id)
            .copied()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(field_ref);
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
