//! Inbound adapters: the tools marketing already uses (Typeform, Tally,
//! HubSpot, any JSON webhook) post to `POST /v1/intake/{name}`, and each
//! source configured in `[[sources]]` turns its provider's payload into the
//! same [`LeadIntake`] that `POST /v1/leads` takes.
//!
//! Each adapter does three things, all pure (no storage, no clock but the
//! one it is given): it verifies the provider's signature over the raw body
//! ([`Source::verify`]), names the provider's event so that a replay is
//! recognised ([`Source::event_id`]), and maps the payload
//! ([`Source::map`]). A payload that cannot be mapped is a [`MapError`]
//! naming the field at fault; the API stores it as a failed intake.

mod hubspot;
mod json;
pub mod signature;
mod tally;
mod typeform;

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use baton_protocol::{
    Behaviour, Contact, Intent, LeadIntake, QuizAnswer, Score, ScoreItem, Source as LeadSource,
    Timestamp,
};
use serde::Deserialize;
use sha2::Digest;

use crate::error::Error;
use crate::validate;

/// Default bound on one delivery's body; Typeform and Tally payloads of a
/// long quiz are a few tens of KiB.
pub const DEFAULT_MAX_BODY_KIB: usize = 256;
/// Source names the API's own paths under `/v1/intake/` use.
const RESERVED_NAMES: &[&str] = &["failures"];

/// Which provider a source speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Typeform,
    Tally,
    Hubspot,
    Json,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Typeform => "typeform",
            SourceKind::Tally => "tally",
            SourceKind::Hubspot => "hubspot",
            SourceKind::Json => "json",
        }
    }
}

/// A shared secret from the config: never printed.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// One `[[sources]]` table of the routing config.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The URL's last segment (`/v1/intake/{name}`) and the source recorded
    /// on its leads: 1–64 characters of a-z, 0-9, `-` and `_`.
    pub name: String,
    pub kind: SourceKind,
    /// The provider's signing secret (Typeform/Tally: the webhook's secret;
    /// HubSpot: the app's client secret; json: the HMAC key).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Or the environment variable that holds it (kept out of the file).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The leads' `source.channel` when the payload names none (default: the source's name).
    #[serde(default)]
    pub channel: Option<String>,
    /// The leads' `source.campaign` when the payload names none.
    #[serde(default)]
    pub campaign: Option<String>,
    /// The provider's score is out of this (a quiz scored to 40 says 40);
    /// Baton's score is 0–100, so it is scaled. Default 100.
    #[serde(default)]
    pub score_max: Option<f64>,
    /// Lead field → where the provider has it: a Typeform field `ref`, a
    /// Tally field `key` (or label), a HubSpot property, a JSON pointer.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// json: the header carrying the HMAC-SHA256 of the body (hex or base64,
    /// optionally `sha256=`-prefixed). Without it a json source takes an
    /// intake key issued for it as a bearer token instead.
    #[serde(default)]
    pub signature_header: Option<String>,
    /// json: a JSON pointer to the provider's event id (default: a hash of the body).
    #[serde(default)]
    pub event_id: Option<String>,
    /// hubspot: the public URL HubSpot calls (its v3 signature covers it),
    /// e.g. `https://baton.example.com/v1/intake/hubspot`. Default: built
    /// from the request's Host and X-Forwarded-Proto.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Largest body accepted, KiB; 413 `payload_too_large` beyond.
    #[serde(default = "default_max_body_kib")]
    pub max_body_kib: usize,
}

fn default_max_body_kib() -> usize {
    DEFAULT_MAX_BODY_KIB
}

/// Lead fields a mapping may name.
pub const LEAD_FIELDS: &[&str] = &[
    "external_id",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "country",
    "company_size",
    "score",
    "channel",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "need",
    "timeline",
    "budget",
    // json only: arrays in the protocol's own shapes.
    "quiz",
    "behaviours",
    "breakdown",
];

/// The hidden fields (Typeform `hidden`, Tally `HIDDEN_FIELDS`) read by
/// name when the mapping does not say otherwise.
const HIDDEN_BY_NAME: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "campaign",
    "channel",
];

impl SourceConfig {
    /// The source a CSV import writes as (no secret: an operator or a
    /// manager runs it).
    pub fn for_import(name: &str, channel: Option<String>, score_max: Option<f64>) -> Self {
        SourceConfig {
            name: name.to_string(),
            kind: SourceKind::Json,
            secret: None,
            secret_env: None,
            channel,
            campaign: None,
            score_max,
            fields: BTreeMap::new(),
            signature_header: None,
            event_id: None,
            public_url: None,
            max_body_kib: DEFAULT_MAX_BODY_KIB,
        }
    }

    /// Checks the table and resolves `secret_env`.
    pub fn check(&mut self) -> std::result::Result<(), String> {
        let n = &self.name;
        let valid = !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(format!(
                "source name {n:?} must be 1 to 64 characters of a-z, 0-9, - and _ (it is the URL's last segment)"
            ));
        }
        if RESERVED_NAMES.contains(&n.as_str()) {
            return Err(format!(
                "source name {n:?} is reserved by the API; choose another"
            ));
        }
        match (&self.secret, &self.secret_env) {
            (Some(_), Some(_)) => {
                return Err(format!("source {n:?}: give secret or secret_env, not both"));
            }
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => self.secret = Some(Secret(v)),
                _ => {
                    return Err(format!(
                        "source {n:?}: secret_env names {var:?}, which is not set in the server's environment"
                    ));
                }
            },
            _ => {}
        }
        let needs_secret = self.kind != SourceKind::Json || self.signature_header.is_some();
        match &self.secret {
            Some(s) if s.expose().len() >= 8 => {}
            Some(_) => {
                return Err(format!(
                    "source {n:?}: the secret is too short (at least 8 characters)"
                ));
            }
            None if needs_secret => {
                return Err(format!(
                    "source {n:?}: a {} source needs its signing secret (secret or secret_env)",
                    self.kind.as_str()
                ));
            }
            None => {}
        }
        if self.kind != SourceKind::Json {
            for (key, what) in [
                (self.signature_header.is_some(), "signature_header"),
                (self.event_id.is_some(), "event_id"),
            ] {
                if key {
                    return Err(format!("source {n:?}: {what} applies to json sources only"));
                }
            }
        }
        if self.public_url.is_some() && self.kind != SourceKind::Hubspot {
            return Err(format!(
                "source {n:?}: public_url applies to hubspot sources only"
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!(
                "source {n:?}: public_url must be the full URL HubSpot calls (https://…)"
            ));
        }
        if let Some(max) = self.score_max
            && !(max.is_finite() && max > 0.0 && max <= 1_000_000.0)
        {
            return Err(format!(
                "source {n:?}: score_max must be a number above 0 (at most 1000000)"
            ));
        }
        if !(1..=10 * 1024).contains(&self.max_body_kib) {
            return Err(format!(
                "source {n:?}: max_body_kib must be from 1 to 10240"
            ));
        }
        for (field, at) in &self.fields {
            if !LEAD_FIELDS.contains(&field.as_str()) {
                return Err(format!(
                    "source {n:?}: fields.{field} is not a lead field; mappable fields: {}",
                    LEAD_FIELDS.join(", ")
                ));
            }
            if ["quiz", "behaviours", "breakdown"].contains(&field.as_str())
                && self.kind != SourceKind::Json
            {
                return Err(format!(
                    "source {n:?}: fields.{field} applies to json sources only (the others build it from the answers)"
                ));
            }
            if at.trim().is_empty() {
                return Err(format!("source {n:?}: fields.{field} is empty"));
            }
            if self.kind == SourceKind::Json && !at.starts_with('/') {
                return Err(format!(
                    "source {n:?}: fields.{field} = {at:?} must be a JSON pointer such as \"/contact/email\""
                ));
            }
        }
        if let Some(p) = &self.event_id
            && !p.starts_with('/')
        {
            return Err(format!(
                "source {n:?}: event_id = {p:?} must be a JSON pointer such as \"/id\""
            ));
        }
        if self.kind == SourceKind::Json && !self.fields.contains_key("external_id") {
            return Err(format!(
                "source {n:?}: a json source must map fields.external_id (the id that makes a re-send an update)"
            ));
        }
        if let Some(c) = &self.channel {
            validate::text(&format!("source {n:?} channel"), c, 1, 64)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body_kib * 1024
    }

    /// Where the mapping reads `field`, or `default` when it does not say.
    fn at<'a>(&'a self, field: &str, default: &'a str) -> &'a str {
        self.fields
            .get(field)
            .map(String::as_str)
            .unwrap_or(default)
    }

    fn mapped(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// Why a payload could not become a lead: the lead field, where the
/// provider had it, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapError {
    /// The lead field (`contact.email`, `score.value`, `external_id`) or
    /// `body` when the payload is not the provider's shape at all.
    pub field: String,
    pub message: String,
}

impl MapError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        MapError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A value found in the payload, and where (for error messages).
#[derive(Clone, Debug, PartialEq)]
struct Found<T> {
    value: T,
    from: String,
}

/// What an adapter read from a payload, before it is shaped into a lead.
#[derive(Clone, Debug, Default)]
struct Draft {
    external_id: Option<Found<String>>,
    /// Text fields by lead field name (`email`, `utm_source`, …).
    text: BTreeMap<&'static str, Found<String>>,
    score: Option<Found<f64>>,
    quiz: Vec<QuizAnswer>,
    breakdown: Vec<ScoreItem>,
    behaviours: Vec<Behaviour>,
}

impl Draft {
    fn set(&mut self, field: &'static str, value: String, from: String) {
        let value = clean_text(&value);
        if !value.is_empty() {
            self.text.insert(field, Found { value, from });
        }
    }

    fn set_if_absent(&mut self, field: &'static str, value: String, from: String) {
        if !self.text.contains_key(field) {
            self.set(field, value, from);
        }
    }

    fn take(&mut self, field: &str) -> Option<Found<String>> {
        self.text.remove(field)
    }
}

/// Text from a form as the lead's validation expects it: Windows line ends
/// become `\n` (a textarea's `\r` would be refused as a control character),
/// and the ends are trimmed.
fn clean_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

/// Free-text answers longer than a quiz answer may be are cut (the raw body,
/// kept with the lead, holds them whole).
fn quiz_text(s: &str, max: usize) -> String {
    let s = clean_text(s);
    if s.chars().count() <= max {
        return s;
    }
    let mut cut: String = s.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// How a request proves it comes from the provider.
pub enum Authenticity {
    /// Verified by the source's signature.
    Signed,
    /// The source has no signature (json without `signature_header`): the
    /// request must carry an intake key issued for this source.
    IntakeKey,
}

/// A configured source, ready to verify and map deliveries.
pub struct Source<'a> {
    pub config: &'a SourceConfig,
}

/// What a request looked like, for signatures that cover more than the body.
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// The URL the provider called, as it signed it.
    pub url: String,
    pub headers: &'a HeaderMap,
    pub now: Timestamp,
}

impl<'a> Source<'a> {
    pub fn new(config: &'a SourceConfig) -> Self {
        Source { config }
    }

    pub fn authenticity(&self) -> Authenticity {
        if self.config.kind == SourceKind::Json && self.config.signature_header.is_none() {
            Authenticity::IntakeKey
        } else {
            Authenticity::Signed
        }
    }

    /// Whether the request carries the provider's valid signature over
    /// `body`. The reason for a refusal goes to the server's log only: the
    /// caller hears a bare 401.
    pub fn verify(&self, req: &RequestFacts<'_>, body: &[u8]) -> std::result::Result<(), String> {
        let Some(secret) = &self.config.secret else {
            return Err("the source has no secret".into());
        };
        let secret = secret.expose().as_bytes();
        match self.config.kind {
            SourceKind::Typeform => typeform::verify(secret, req.headers, body),
            SourceKind::Tally => tally::verify(secret, req.headers, body),
            SourceKind::Hubspot => hubspot::verify(secret, req, body),
            SourceKind::Json => {
                let header = self
                    .config
                    .signature_header
                    .as_deref()
                    .ok_or("the source has no signature header")?;
                json::verify(secret, header, req.headers, body)
            }
        }
    }

    /// The delivery's event id and the lead it maps to, the body parsed
    /// once. A re-sent event carries the same id; a body that names none
    /// (or is not JSON) is named by its SHA-256.
    pub fn read(
        &self,
        body: &[u8],
        now: Timestamp,
    ) -> (String, std::result::Result<LeadIntake, MapError>) {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => (
                self.event_id_of(body, Some(&value)),
                self.map_value(&value, now),
            ),
            Err(e) => (
                self.event_id_of(body, None),
                Err(MapError::new("body", format!("is not JSON: {e}"))),
            ),
        }
    }

    fn event_id_of(&self, body: &[u8], value: Option<&serde_json::Value>) -> String {
        let named = value.and_then(|v| match self.config.kind {
            SourceKind::Typeform => typeform::event_id(v),
            SourceKind::Tally => tally::event_id(v),
            SourceKind::Hubspot => None,
            SourceKind::Json => self
                .config
                .event_id
                .as_deref()
                .and_then(|p| v.pointer(p))
                .and_then(json::scalar_text),
        });
        named
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .unwrap_or_else(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(body))))
    }

    /// A lead from plain values (a CSV row): `(lead field, value, where)`
    /// with the score among them as text; validated as `POST /v1/leads` would.
    pub fn map_values(
        &self,
        values: Vec<(&'static str, String, String)>,
        now: Timestamp,
    ) -> std::result::Result<LeadIntake, MapError> {
        let mut d = Draft::default();
        for (field, value, from) in values {
            match field {
                "external_id" => {
                    let value = clean_text(&value);
                    if !value.is_empty() {
                        d.external_id = Some(Found { value, from });
                    }
                }
                "score" => {
                    if value.trim().is_empty() {
                        continue;
                    }
                    let n = value.trim().parse::<f64>().map_err(|_| {
                        MapError::new(
                            "score.value",
                            format!("{value:?} (read from {from}) is not a number"),
                        )
                    })?;
                    d.score = Some(Found { value: n, from });
                }
                _ => d.set(field, value, from),
            }
        }
        self.finish(d, now)
    }

    fn finish(&self, draft: Draft, now: Timestamp) -> std::result::Result<LeadIntake, MapError> {
        let (lead, from) = assemble(self.config, draft)?;
        validate::lead_intake(lead, now).map_err(|e| match e {
            Error::InvalidField { field, message } => {
                let message = match from.get(field.as_str()) {
                    Some(at) => format!("{message} (read from {at})"),
                    None => message,
                };
                MapError::new(field, message)
            }
            other => MapError::new("body", other.to_string()),
        })
    }

    /// The lead this payload describes, validated as `POST /v1/leads` would.
    pub fn map(&self, body: &[u8], now: Timestamp) -> std::result::Result<LeadIntake, MapError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| MapError::new("body", format!("is not JSON: {e}")))?;
        self.map_value(&value, now)
    }

    fn map_value(
        &self,
        value: &serde_json::Value,
        now: Timestamp,
    ) -> std::result::Result<LeadIntake, MapError> {
        if !value.is_object() {
            return Err(MapError::new("body", "must be a JSON object"));
        }
        let draft = match self.config.kind {
            SourceKind::Typeform => typeform::read(self.config, value)?,
            SourceKind::Tally => tally::read(self.config, value)?,
            SourceKind::Hubspot => hubspot::read(self.config, value)?,
            SourceKind::Json => json::read(self.config, value)?,
        };
        self.finish(draft, now)
    }
}

/// Shapes a draft into a lead; also returns where each lead field came
/// from, so a validation error can say where the provider had it.
fn assemble(
    cfg: &SourceConfig,
    mut d: Draft,
) -> std::result::Result<(LeadIntake, BTreeMap<&'static str, String>), MapError> {
    let mut from: BTreeMap<&'static str, String> = BTreeMap::new();
    fn take(
        d: &mut Draft,
        from: &mut BTreeMap<&'static str, String>,
        field: &str,
        lead_field: &'static str,
    ) -> Option<String> {
        d.take(field).map(|f| {
            from.insert(lead_field, f.from);
            f.value
        })
    }
    let Some(ext) = d.external_id.take() else {
        return Err(MapError::new(
            "external_id",
            match cfg.mapped("external_id") {
                Some(at) => format!("the payload has no value at {at}"),
                None => "the payload carries no id for this response".into(),
            },
        ));
    };
    // Prefixed with the source, so two tools' ids never meet.
    let external_id = format!("{}:{}", cfg.name, ext.value);
    from.insert("external_id", ext.from);

    let email = take(&mut d, &mut from, "email", "contact.email");
    let phone = take(&mut d, &mut from, "phone", "contact.phone");
    let first = take(&mut d, &mut from, "first_name", "contact.name");
    let last = take(&mut d, &mut from, "last_name", "contact.name");
    let name = take(&mut d, &mut from, "name", "contact.name")
        .or_else(|| {
            let joined = [first, last]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        })
        // A form that asks no name: the address is how sales will know them.
        .or_else(|| email.clone())
        .or_else(|| phone.clone())
        .ok_or_else(|| {
            MapError::new(
                "contact.email",
                "the payload has no name, email or phone; a lead needs an email or a phone number so sales can reach it (map fields.email or fields.phone)",
            )
        })?;
    let company_size = match d.take("company_size") {
        None => None,
        Some(f) => {
            from.insert("contact.company_size", f.from.clone());
            Some(parse_company_size(&f.value).ok_or_else(|| {
                MapError::new(
                    "contact.company_size",
                    format!(
                        "{:?} (read from {}) is not a number of employees such as 250 or 51-200",
                        f.value, f.from
                    ),
                )
            })?)
        }
    };
    let score = match d.score.take() {
        None => {
            return Err(MapError::new(
                "score.value",
                match cfg.mapped("score") {
                    Some(at) => format!("the payload has no score at {at}"),
                    None => format!(
                        "the payload carries no score ({}); map fields.score",
                        match cfg.kind {
                            SourceKind::Typeform =>
                                "no calculated.score and no variable named score",
                            SourceKind::Tally => "no calculated field named Score",
                            SourceKind::Hubspot => "no hubspotscore property",
                            SourceKind::Json if cfg.fields.is_empty() => "the row's score is empty",
                            SourceKind::Json => "nothing at fields.score",
                        }
                    ),
                },
            ));
        }
        Some(f) => {
            from.insert("score.value", f.from.clone());
            scale_score(cfg, &f)?
        }
    };
    let channel = take(&mut d, &mut from, "channel", "source.channel")
        .or_else(|| cfg.channel.clone())
        .unwrap_or_else(|| cfg.name.clone());
    let utm_campaign = take(&mut d, &mut from, "utm_campaign", "source.utm_campaign");
    let campaign = take(&mut d, &mut from, "campaign", "source.campaign")
        .or_else(|| cfg.campaign.clone())
        .or_else(|| utm_campaign.clone());
    let intent = Intent {
        need: take(&mut d, &mut from, "need", "intent.need"),
        timeline: take(&mut d, &mut from, "timeline", "intent.timeline"),
        budget: take(&mut d, &mut from, "budget", "intent.budget"),
    };
    let lead = LeadIntake {
        external_id,
        source: LeadSource {
            channel,
            campaign,
            utm_source: take(&mut d, &mut from, "utm_source", "source.utm_source"),
            utm_medium: take(&mut d, &mut from, "utm_medium", "source.utm_medium"),
            utm_campaign,
            utm_term: take(&mut d, &mut from, "utm_term", "source.utm_term"),
            utm_content: take(&mut d, &mut from, "utm_content", "source.utm_content"),
        },
        contact: Contact {
            name,
            email,
            company: take(&mut d, &mut from, "company", "contact.company"),
            title: take(&mut d, &mut from, "title", "contact.title"),
            phone,
            country: take(&mut d, &mut from, "country", "contact.country"),
            company_size,
        },
        score: Score {
            value: score,
            breakdown: d.breakdown,
        },
        quiz: d.quiz,
        behaviours: d.behaviours,
        intent,
    };
    Ok((lead, from))
}

fn scale_score(cfg: &SourceConfig, f: &Found<f64>) -> std::result::Result<u32, MapError> {
    let max = cfg.score_max.unwrap_or(100.0);
    let v = f.value;
    if !v.is_finite() || v < 0.0 || v > max {
        return Err(MapError::new(
            "score.value",
            format!(
                "{} (read from {}) is outside 0–{max}; set score_max to the most the form can score",
                f.value, f.from
            ),
        ));
    }
    Ok((v * 100.0 / max).round() as u32)
}

/// A number of employees: `250`, `1,000`, or a band such as `51-200` or
/// `1000+` (its lower bound, the most the lead is known to have).
fn parse_company_size(s: &str) -> Option<u32> {
    let digits: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == ' ' || *c == '.')
        .filter(char::is_ascii_digit)
        .collect();
    let rest = s
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ',' || c == ' ' || c == '.');
    let band = rest.is_empty()
        || rest.starts_with('+')
        || rest.starts_with('-')
        || rest.starts_with('–')
        || rest.to_ascii_lowercase().starts_with("employees");
    if digits.is_empty() || !band {
        return None;
    }
    digits.parse().ok()
}

/// Reads hidden/UTM fields by their names into the draft, unless the
/// mapping put something else there.
fn read_hidden(cfg: &SourceConfig, d: &mut Draft, name: &str, value: &str, from: String) {
    if let Some(field) = HIDDEN_BY_NAME.iter().find(|f| **f == name)
        && !cfg.fields.contains_key(*field)
    {
        d.set_if_absent(field, value.to_string(), from);
    }
}

/// The lead field a provider field is mapped to, if any (text fields only).
fn lead_field_for(cfg: &SourceConfig, provider_field: &str) -> Option<&'static str> {
    LEAD_FIELDS
        .iter()
        .find(|lf| cfg.fields.get(**lf).is_some_and(|at| at == provider_field))
        .copied()
}

/// Parses a Tally/Typeform number given as text or number.
fn number_of(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_sizes_read_bands_by_their_lower_bound() {
        assert_eq!(parse_company_size("250"), Some(250));
        assert_eq!(parse_company_size("1,000"), Some(1000));
        assert_eq!(parse_company_size("51-200"), Some(51));
        assert_eq!(parse_company_size("1000+"), Some(1000));
        assert_eq!(parse_company_size("11 – 50 employees"), Some(11));
        assert_eq!(parse_company_size("about fifty"), None);
        assert_eq!(parse_company_size("50 reps or more maybe"), None);
    }

    #[test]
    fn long_answers_are_cut_and_line_ends_normalised() {
        assert_eq!(quiz_text("a\r\nb\r", 10), "a\nb");
        let cut = quiz_text(&"x".repeat(30), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }

    fn cfg(toml_src: &str) -> std::result::Result<SourceConfig, String> {
        let mut c: SourceConfig = toml::from_str(toml_src).map_err(|e| e.to_string())?;
        c.check()?;
        Ok(c)
    }

    #[test]
    fn source_tables_are_checked() {
        assert!(cfg("name = \"quiz\"\nkind = \"typeform\"\nsecret = \"0123456789\"").is_ok());
        let no_secret = cfg("name = \"quiz\"\nkind = \"typeform\"").unwrap_err();
        assert!(no_secret.contains("signing secret"), "{no_secret}");
        let bad_name =
            cfg("name = \"Quiz!\"\nkind = \"tally\"\nsecret = \"0123456789\"").unwrap_err();
        assert!(bad_name.contains("a-z"), "{bad_name}");
        let reserved =
            cfg("name = \"failures\"\nkind = \"tally\"\nsecret = \"0123456789\"").unwrap_err();
        assert!(reserved.contains("reserved"), "{reserved}");
        let bad_field =
            cfg("name = \"q\"\nkind = \"tally\"\nsecret = \"0123456789\"\n[fields]\nmail = \"x\"")
                .unwrap_err();
        assert!(bad_field.contains("fields.mail"), "{bad_field}");
        let json_no_id = cfg("name = \"j\"\nkind = \"json\"").unwrap_err();
        assert!(json_no_id.contains("external_id"), "{json_no_id}");
        let json_pointer =
            cfg("name = \"j\"\nkind = \"json\"\n[fields]\nexternal_id = \"id\"").unwrap_err();
        assert!(json_pointer.contains("JSON pointer"), "{json_pointer}");
        assert!(cfg("name = \"j\"\nkind = \"json\"\n[fields]\nexternal_id = \"/id\"").is_ok());
        let debug = format!(
            "{:?}",
            cfg("name = \"quiz\"\nkind = \"typeform\"\nsecret = \"sup3r-s3cret\"").unwrap()
        );
        assert!(!debug.contains("sup3r"), "{debug}");
    }
}
