//! HubSpot: a workflow's "Send a webhook" action for contacts.
//!
//! Signature v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app client
//! secret, method + URL + body + timestamp)) with the timestamp (ms) from
//! `X-HubSpot-Request-Timestamp`; a request more than five minutes off is
//! refused, so a captured request cannot be replayed later.
//!
//! The payload is the contact: its properties either as the legacy
//! `properties.NAME.value` objects or as plain `NAME: value` pairs (a
//! customised payload), the contact id in `objectId`, `vid` or
//! `hs_object_id`. The contact id is the lead's id, so a later webhook for
//! the same contact updates the lead.

use serde_json::Value;

use super::signature::{from_base64, single_header, verify_hmac};
use super::{Draft, Found, MapError, RequestFacts, SourceConfig, number_of};

/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// Lead fields and the contact properties they come from by default.
const DEFAULT_PROPERTIES: &[(&str, &str)] = &[
    ("email", "email"),
    ("first_name", "firstname"),
    ("last_name", "lastname"),
    ("company", "company"),
    ("title", "jobtitle"),
    ("phone", "phone"),
    ("country", "hs_country_region_code"),
    ("company_size", "numemployees"),
    ("channel", "hs_analytics_source"),
    ("campaign", "hs_analytics_first_touch_converting_campaign"),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
    ("utm_term", "utm_term"),
    ("utm_content", "utm_content"),
];

pub fn verify(secret: &[u8], req: &RequestFacts<'_>, body: &[u8]) -> Result<(), String> {
    let signature = single_header(req.headers, "x-hubspot-signature-v3")?;
    let timestamp = single_header(req.headers, "x-hubspot-request-timestamp")?;
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "X-HubSpot-Request-Timestamp is not a number of milliseconds")?;
    let skew = (req.now.millis() - at).abs();
    if skew > MAX_SKEW_MS {
        return Err(format!(
            "X-HubSpot-Request-Timestamp is {} s from the server's clock (at most {} s)",
            skew / 1000,
            MAX_SKEW_MS / 1000
        ));
    }
    let claimed = from_base64(signature).ok_or("X-HubSpot-Signature-v3 is not base64")?;
    let url = hubspot_decoded(&req.url);
    if verify_hmac(
        secret,
        &[
            req.method.as_bytes(),
            url.as_bytes(),
            body,
            timestamp.trim().as_bytes(),
        ],
        &claimed,
    ) {
        Ok(())
    } else {
        Err(format!(
            "X-HubSpot-Signature-v3 does not match (checked against {url}; set public_url if HubSpot calls another address)"
        ))
    }
}

/// HubSpot signs the URL with these escapes decoded.
fn hubspot_decoded(url: &str) -> String {
    const ESCAPES: &[(&str, &str)] = &[
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ];
    let mut out = url.to_string();
    for (from, to) in ESCAPES {
        out = out
            .replace(from, to)
            .replace(&from.to_ascii_lowercase(), to);
    }
    out
}

/// A contact property: `properties.NAME.value`, `properties.NAME` or `NAME`.
fn property<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let p = v.get("properties").and_then(|p| p.get(name));
    let p = match p {
        Some(Value::Object(o)) => o.get("value"),
        Some(other) => Some(other),
        None => v.get(name),
    };
    p.filter(|x| !x.is_null())
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn read(cfg: &SourceConfig, v: &Value) -> Result<Draft, MapError> {
    if !(v.get("properties").is_some_and(Value::is_object) || v.get("email").is_some()) {
        return Err(MapError::new(
            "body",
            "is not a HubSpot contact (no properties); send the contact from a workflow's \"Send a webhook\" action",
        ));
    }
    let mut d = Draft::default();
    let id = match cfg.mapped("external_id") {
        Some(at) => property(v, at)
            .and_then(text_of)
            .map(|t| (t, format!("property {at:?}"))),
        None => ["objectId", "vid", "canonical-vid"]
            .iter()
            .find_map(|k| v.get(*k).and_then(text_of).map(|t| (t, k.to_string())))
            .or_else(|| {
                property(v, "hs_object_id")
                    .and_then(text_of)
                    .map(|t| (t, "property \"hs_object_id\"".into()))
            }),
    };
    d.external_id = id
        .filter(|(t, _)| !t.trim().is_empty())
        .map(|(t, from)| Found {
            value: t.trim().to_string(),
            from,
        });
    for (field, default) in DEFAULT_PROPERTIES {
        let at = cfg.at(field, default);
        if let Some(text) = property(v, at).and_then(text_of) {
            let text = if *field == "channel" {
                // hs_analytics_source's values are upper-case codes (PAID_SEARCH).
                text.to_ascii_lowercase()
            } else {
                text
            };
            d.set(field, text, format!("property {at:?}"));
        }
    }
    for (field, at) in &cfg.fields {
        if ["external_id", "score"].contains(&field.as_str())
            || DEFAULT_PROPERTIES.iter().any(|(f, _)| f == field)
        {
            continue;
        }
        if let Some(text) = property(v, at).and_then(text_of)
            && let Some(lf) = super::LEAD_FIELDS.iter().find(|f| *f == field)
        {
            d.set(lf, text, format!("property {at:?}"));
        }
    }
    let score_at = cfg.at("score", "hubspotscore");
    if let Some(n) = property(v, score_at).and_then(number_of) {
        d.score = Some(Found {
            value: n,
            from: format!("property {score_at:?}"),
        });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_escapes_hubspot_decodes_before_signing() {
        assert_eq!(
            hubspot_decoded("https://x.example/v1/intake/hs?next=%2Fa%3Ab%20c"),
            "https://x.example/v1/intake/hs?next=/a:b%20c"
        );
    }
}
