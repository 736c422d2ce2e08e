//! How the providers whose webhooks Baton takes sign and shape their
//! deliveries, written from their developer documentation (not from the
//! server's code), so the tests check the server against the providers.
//!
//! - Typeform: `Typeform-Signature: sha256=` + base64(HMAC-SHA256(secret, body)).
//! - Tally: `Tally-Signature: ` + base64(HMAC-SHA256(signing secret, body)).
//! - HubSpot v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret,
//!   method + URI + body + timestamp)), `X-HubSpot-Request-Timestamp` in ms.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

fn hmac(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

pub fn typeform_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", STANDARD.encode(hmac(secret, &[body])))
}

pub fn tally_signature(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(hmac(secret, &[body]))
}

pub fn hubspot_v3_signature(
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp_ms: i64,
) -> String {
    let ts = timestamp_ms.to_string();
    STANDARD.encode(hmac(
        secret,
        &[method.as_bytes(), uri.as_bytes(), body, ts.as_bytes()],
    ))
}

/// A hex HMAC-SHA256 of the body, as a generic webhook sender might sign.
pub fn hex_hmac(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac(secret, &[body]))
}

/// A Typeform `form_response` delivery in the documented shape: a
/// scorecard quiz with contact questions (refs `first_name`, `work_email`,
/// `company`), a single choice, a multiple choice, a number, a yes/no and a
/// long text; hidden UTM fields; a `score` variable and `calculated.score`.
pub fn typeform_response(event_id: &str, token: &str, score: i64, email: &str) -> Value {
    let field = |id: &str, kind: &str, r: &str| json!({"id": id, "type": kind, "ref": r});
    json!({
        "event_id": event_id,
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": token,
            "landed_at": "2026-11-30T09:12:02Z",
            "submitted_at": "2026-11-30T09:14:47Z",
            "calculated": {"score": score},
            "variables": [
                {"key": "score", "type": "number", "number": score},
                {"key": "fit", "type": "number", "number": 30},
                {"key": "name", "type": "text", "text": "typeform"}
            ],
            "hidden": {"utm_source": "linkedin", "utm_campaign": "q4-scorecard", "user_id": "abc123"},
            "definition": {
                "id": "lT4Z3j",
                "title": "Sales readiness scorecard",
                "fields": [
                    {"id": "f1", "title": "What's your first name?", "type": "short_text", "ref": "first_name", "properties": {}},
                    {"id": "f2", "title": "Work email", "type": "email", "ref": "work_email", "properties": {}},
                    {"id": "f3", "title": "Company", "type": "short_text", "ref": "company", "properties": {}},
                    {"id": "f4", "title": "How many reps are on your team?", "type": "multiple_choice", "ref": "team_size",
                     "properties": {}, "choices": [{"id": "c1", "label": "1-10"}, {"id": "c2", "label": "More than 100 reps"}]},
                    {"id": "f5", "title": "Which tools do you use today?", "type": "multiple_choice", "ref": "tools",
                     "allow_multiple_selections": true, "properties": {}, "choices": [{"id": "c3", "label": "HubSpot"}, {"id": "c4", "label": "Salesforce"}]},
                    {"id": "f6", "title": "How many leads a month?", "type": "number", "ref": "volume", "properties": {}},
                    {"id": "f7", "title": "Do you have budget this quarter?", "type": "yes_no", "ref": "budget_now", "properties": {}},
                    {"id": "f8", "title": "Anything else?", "type": "long_text", "ref": "notes", "properties": {}}
                ]
            },
            "answers": [
                {"type": "text", "text": "Laura", "field": field("f1", "short_text", "first_name")},
                {"type": "email", "email": email, "field": field("f2", "email", "work_email")},
                {"type": "text", "text": "Acme GmbH", "field": field("f3", "short_text", "company")},
                {"type": "choice", "choice": {"id": "c2", "label": "More than 100 reps"}, "field": field("f4", "multiple_choice", "team_size")},
                {"type": "choices", "choices": {"ids": ["c3", "c4"], "labels": ["HubSpot", "Salesforce"]}, "field": field("f5", "multiple_choice", "tools")},
                {"type": "number", "number": 1200, "field": field("f6", "number", "volume")},
                {"type": "boolean", "boolean": true, "field": field("f7", "yes_no", "budget_now")},
                {"type": "text", "text": "We lose leads\r\nover weekends.", "field": field("f8", "long_text", "notes")}
            ],
            "ending": {"id": "DsGQZtmfUm", "ref": "01HSF1K44Y5ED7S7EFV3D8PHKT"}
        }
    })
}

/// A Tally `FORM_RESPONSE` delivery in the documented shape: choices as
/// option ids with their options, a per-option boolean for each checkbox,
/// a hidden UTM field and a calculated score.
pub fn tally_response(event_id: &str, response_id: &str, score: i64, email: &str) -> Value {
    json!({
        "eventId": event_id,
        "eventType": "FORM_RESPONSE",
        "createdAt": "2026-11-30T09:14:47.889Z",
        "data": {
            "responseId": response_id,
            "submissionId": response_id,
            "respondentId": "dwQKYm",
            "formId": "VwbNEw",
            "formName": "Pipeline check",
            "createdAt": "2026-11-30T09:14:47.000Z",
            "fields": [
                {"key": "question_mVGEg3_utm", "label": "utm_source", "type": "HIDDEN_FIELDS", "value": "newsletter"},
                {"key": "question_3EKz4n", "label": "Full name", "type": "INPUT_TEXT", "value": "Jonas Weber"},
                {"key": "question_ZVb6Ll", "label": "Email", "type": "INPUT_EMAIL", "value": email},
                {"key": "question_w4Q4Xn", "label": "Company size", "type": "MULTIPLE_CHOICE",
                 "value": ["5c0aa0c4-92f6-4c07-9f4e-1a6e0f7d3f00"],
                 "options": [{"id": "5c0aa0c4-92f6-4c07-9f4e-1a6e0f7d3f00", "text": "51-200"},
                             {"id": "7d2f9c1e-0b8a-4d55-8e2b-3f9a6c1d2e11", "text": "1-50"}]},
                {"key": "question_3jkZbN", "label": "Channels", "type": "CHECKBOXES",
                 "value": ["a1", "b2"],
                 "options": [{"id": "a1", "text": "Email"}, {"id": "b2", "text": "Phone"}, {"id": "c3", "text": "Chat"}]},
                {"key": "question_3jkZbN_a1", "label": "Channels (Email)", "type": "CHECKBOXES", "value": true},
                {"key": "question_3jkZbN_b2", "label": "Channels (Phone)", "type": "CHECKBOXES", "value": true},
                {"key": "question_3jkZbN_c3", "label": "Channels (Chat)", "type": "CHECKBOXES", "value": false},
                {"key": "question_nPx9Kd", "label": "When do you want to start?", "type": "DROPDOWN",
                 "value": ["t1"], "options": [{"id": "t1", "text": "This quarter"}, {"id": "t2", "text": "Next year"}]},
                {"key": "question_calc", "label": "Score", "type": "CALCULATED_FIELDS", "value": score}
            ]
        }
    })
}

/// A HubSpot contact as a workflow's "Send a webhook" action sends it
/// (legacy format: each property an object with its `value`).
pub fn hubspot_contact(vid: i64, email: &str, score: &str, title: &str) -> Value {
    let prop = |v: &str| json!({"value": v, "timestamp": 1732960000000_i64, "source": "API", "versions": []});
    json!({
        "vid": vid,
        "canonical-vid": vid,
        "portal-id": 62515,
        "is-contact": true,
        "properties": {
            "email": prop(email),
            "firstname": prop("Priya"),
            "lastname": prop("Natarajan"),
            "company": prop("Globex"),
            "jobtitle": prop(title),
            "hs_country_region_code": prop("IN"),
            "numemployees": prop("201-500"),
            "hubspotscore": prop(score),
            "hs_analytics_source": prop("PAID_SEARCH")
        }
    })
}
