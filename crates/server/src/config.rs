//! Routing configuration: qualification threshold, teams and their SLAs,
//! regions, routing rules and rejection reasons, read from a TOML file.
//!
//! The file is the source of truth for teams and rules; reps and tokens live in
//! the database (they are created with `baton-server rep add`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use baton_protocol::RejectReason;
use serde::Deserialize;

use crate::error::{Error, Result};

pub const DEFAULT_SLA_SECONDS: u64 = 60 * 60;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Leads scoring at or above this go to sales; below it they stay in nurture.
    #[serde(default = "default_threshold")]
    pub qualification_threshold: u32,
    /// Named lists of country codes, usable in rules as the field `region`.
    #[serde(default)]
    pub regions: BTreeMap<String, Vec<String>>,
    pub teams: Vec<TeamConfig>,
    /// Evaluated in order; the first rule whose conditions all hold picks the team.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// The team for leads no rule matches; defaults to the first team.
    #[serde(default)]
    pub fallback_team: Option<String>,
    /// Rejection reasons; defaults to [`default_reasons`].
    #[serde(default = "default_reasons")]
    pub reasons: Vec<ReasonConfig>,
    /// Bounds on what any one client may cost the server; see [`Limits`].
    #[serde(default)]
    pub limits: Limits,
    /// Inbound adapters: tools that post their own payloads to
    /// `/v1/intake/{name}` (docs/integrations.md).
    #[serde(default)]
    pub sources: Vec<crate::sources::SourceConfig>,
    /// Outbound events (docs/integrations.md).
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    /// The CRM owner write-back (docs/integrations.md).
    #[serde(default)]
    pub crm: crate::crm::CrmConfig,
    /// The newest desktop app release, advertised to every app at
    /// `GET /v1/desktop/release` (docs/deploy.md, "Desktop updates").
    #[serde(default)]
    pub desktop_release: Option<baton_protocol::DesktopRelease>,
}

/// `[webhooks]`: where managers' endpoints may point.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow endpoints on loopback, private and link-local addresses, and
    /// plain http (receivers on the same host or network; tests). Off by
    /// default: a manager's token must not reach the server's own network.
    #[serde(default)]
    pub allow_private_targets: bool,
}

/// Every bound the server enforces on connections, requests, streams,
/// writes and stored history. Each is documented in docs/protocol.md
/// ("Limits") with what a client sees when it reaches it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A connection must send a request's headers within this many seconds of
    /// opening, or of its previous response (so it also bounds idle keep-alive).
    pub header_timeout_secs: u64,
    /// A request (body included) must be read and answered within this many
    /// seconds; live streams are exempt. 408 `request_timeout` otherwise.
    pub request_timeout_secs: u64,
    /// Open connections at once; further ones wait in the listen backlog.
    /// Lowered at start-up to fit the process's open-file limit.
    pub max_connections: usize,
    /// A connection whose client reads nothing for this many seconds while
    /// the server has data to send (a stalled stream reader) is closed.
    pub write_stall_secs: u64,
    /// Live `/v1/stream`s one token may hold open; 429 `too_many_streams` beyond.
    pub streams_per_token: usize,
    /// After SIGTERM, seconds to let in-flight requests finish before the
    /// remaining connections are closed.
    pub shutdown_grace_secs: u64,
    /// Write jobs waiting for the database writer; 503 `unavailable` with
    /// `Retry-After` when full.
    pub write_queue: usize,
    /// Lead pushes per second one intake key may sustain, and its burst.
    pub intake_per_second: u32,
    pub intake_burst: u32,
    /// Decisions and availability changes per second one rep may sustain, and the burst
    /// (an outbox flushing after a day offline sends its backlog at once).
    pub rep_writes_per_second: u32,
    pub rep_write_burst: u32,
    /// Most bytes of changes one `/v1/sync` page carries (at least one change
    /// is always sent, whatever its size).
    pub feed_page_bytes: usize,
    /// Days a feedback answer is kept for replay to a retry with the same
    /// `Idempotency-Key`.
    pub idempotency_days: u32,
    /// "Marketing pushed an update" entries kept per lead in its history (the newest).
    pub update_events_per_lead: u32,
    /// Raw bodies of inbound-source deliveries kept per lead (the newest);
    /// older deliveries keep their row (so a replay is still recognised)
    /// without the body.
    pub receipt_bodies_per_lead: u32,
    /// A CSV upload to `POST /v1/imports`: at most this many MiB (413
    /// beyond), read and imported within `import_timeout_secs` (408).
    pub import_max_mib: usize,
    pub import_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 8192,
            write_stall_secs: 30,
            streams_per_token: 4,
            shutdown_grace_secs: 10,
            write_queue: 8192,
            intake_per_second: 2000,
            intake_burst: 4000,
            rep_writes_per_second: 10,
            rep_write_burst: 100,
            feed_page_bytes: 4 * 1024 * 1024,
            idempotency_days: 30,
            update_events_per_lead: 50,
            receipt_bodies_per_lead: 20,
            import_max_mib: 64,
            import_timeout_secs: 600,
        }
    }
}

impl Limits {
    fn check(&self) -> std::result::Result<(), String> {
        let range = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("limits.{name} must be from {lo} to {hi}"))
            }
        };
        range("header_timeout_secs", self.header_timeout_secs, 1, 300)?;
        range("request_timeout_secs", self.request_timeout_secs, 1, 600)?;
        range(
            "max_connections",
            self.max_connections as u64,
            16,
            1_000_000,
        )?;
        range("write_stall_secs", self.write_stall_secs, 1, 600)?;
        range("streams_per_token", self.streams_per_token as u64, 1, 100)?;
        range("shutdown_grace_secs", self.shutdown_grace_secs, 0, 300)?;
        range("write_queue", self.write_queue as u64, 1, 1_000_000)?;
        range(
            "intake_per_second",
            u64::from(self.intake_per_second),
            1,
            1_000_000,
        )?;
        range("intake_burst", u64::from(self.intake_burst), 1, 10_000_000)?;
        range(
            "rep_writes_per_second",
            u64::from(self.rep_writes_per_second),
            1,
            10_000,
        )?;
        range(
            "rep_write_burst",
            u64::from(self.rep_write_burst),
            1,
            100_000,
        )?;
        range(
            "feed_page_bytes",
            self.feed_page_bytes as u64,
            64 * 1024,
            256 * 1024 * 1024,
        )?;
        range(
            "idempotency_days",
            u64::from(self.idempotency_days),
            1,
            3650,
        )?;
        range(
            "update_events_per_lead",
            u64::from(self.update_events_per_lead),
            1,
            100_000,
        )?;
        range("import_max_mib", self.import_max_mib as u64, 1, 4096)?;
        range("import_timeout_secs", self.import_timeout_secs, 10, 3600)?;
        range(
            "receipt_bodies_per_lead",
            u64::from(self.receipt_bodies_per_lead),
            1,
            10_000,
        )?;
        Ok(())
    }
}

/// An advertised release must be a semantic version, with short plain notes
/// and https addresses: the apps show them to every rep.
fn check_desktop_release(r: &baton_protocol::DesktopRelease) -> std::result::Result<(), String> {
    use baton_protocol::DesktopRelease;
    if let Err(e) = semver::Version::parse(&r.version) {
        return Err(format!(
            "desktop_release.version {:?} is not a semantic version like 1.4.0: {e}",
            r.version
        ));
    }
    if r.notes.chars().count() > DesktopRelease::MAX_NOTES_CHARS {
        return Err(format!(
            "desktop_release.notes is longer than {} characters: link the rest with notes_url",
            DesktopRelease::MAX_NOTES_CHARS
        ));
    }
    if r.notes
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(
            "desktop_release.notes holds control characters: keep to plain text and line breaks"
                .into(),
        );
    }
    let url = |key: String, u: &str| -> std::result::Result<(), String> {
        if DesktopRelease::is_safe_url(u) {
            Ok(())
        } else {
            Err(format!(
                "desktop_release.{key} must be an https:// address of at most {} characters, without spaces",
                DesktopRelease::MAX_URL_CHARS
            ))
        }
    };
    if let Some(u) = &r.notes_url {
        url("notes_url".into(), u)?;
    }
    for (format, u) in &r.downloads {
        url(format!("downloads.{}", format.as_str()), u)?;
    }
    Ok(())
}

fn default_threshold() -> u32 {
    60
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: String,
    #[serde(default = "default_sla")]
    pub sla_seconds: u64,
    /// The SLA counts only the offered rep's working hours (a rep without
    /// hours set counts every hour).
    #[serde(default)]
    pub sla_business_hours: bool,
    /// A lead of a company a rep of the team already holds (an open or
    /// accepted lead within `account_match_days`) goes to that rep first.
    #[serde(default)]
    pub account_matching: bool,
    #[serde(default = "default_account_days")]
    pub account_match_days: u32,
    /// Remind the rep when this share (percent) of the SLA has passed
    /// without a decision; 0 never reminds.
    #[serde(default)]
    pub remind_at_percent: u32,
}

fn default_account_days() -> u32 {
    90
}

impl TeamConfig {
    /// A team with the defaults and this SLA.
    pub fn new(name: &str, sla_seconds: u64) -> Self {
        TeamConfig {
            name: name.to_string(),
            sla_seconds,
            sla_business_hours: false,
            account_matching: false,
            account_match_days: default_account_days(),
            remind_at_percent: 0,
        }
    }

    /// The team as the protocol shows it.
    pub fn view(&self) -> baton_protocol::Team {
        baton_protocol::Team {
            name: self.name.clone(),
            sla_seconds: self.sla_seconds,
            sla_business_hours: self.sla_business_hours,
            account_matching: self.account_matching,
            remind_at_percent: self.remind_at_percent,
        }
    }
}

fn default_sla() -> u64 {
    DEFAULT_SLA_SECONDS
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    pub team: String,
    #[serde(default)]
    pub when: Vec<Condition>,
}

/// One test on one lead field. A field the lead lacks satisfies no condition.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A dotted path into the lead (`contact.country`, `source.channel`,
    /// `score.value`, `intent.timeline`), `region` (the lead country's region),
    /// or `quiz:QUESTION` (the answer to that quiz question).
    pub field: String,
    /// The value equals one of these (case-insensitive).
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<String>>,
    /// The value equals none of these (case-insensitive).
    #[serde(default)]
    pub not_in: Option<Vec<String>>,
    /// The value is a number at least this.
    #[serde(default)]
    pub min: Option<f64>,
    /// The value is a number at most this.
    #[serde(default)]
    pub max: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonConfig {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub note_required: bool,
    #[serde(default)]
    pub routes_on: bool,
}

impl From<&ReasonConfig> for RejectReason {
    fn from(r: &ReasonConfig) -> Self {
        RejectReason {
            code: r.code.clone(),
            label: r.label.clone(),
            note_required: r.note_required,
            routes_on: r.routes_on,
        }
    }
}

/// The reasons every deployment starts with.
pub fn default_reasons() -> Vec<ReasonConfig> {
    let r = |code: &str, label: &str, note_required, routes_on| ReasonConfig {
        code: code.into(),
        label: label.into(),
        note_required,
        routes_on,
    };
    vec![
        r("wrong_territory", "Wrong territory", false, true),
        r("not_decision_maker", "Not a decision maker", false, false),
        r("no_budget", "No budget", false, false),
        r("no_need_or_timing", "No need or wrong timing", false, false),
        r("bad_contact_data", "Bad contact data", false, false),
        r("existing_customer", "Existing customer", false, false),
        r("spam_or_competitor", "Spam or competitor", false, false),
        r("other", "Other (note required)", true, false),
    ]
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    pub fn from_toml(text: &str) -> Result<Self> {
        let mut config: Config = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.normalise_and_check()?;
        Ok(config)
    }

    /// A one-team configuration for a server started without `--config`.
    pub fn single_team(team: &str) -> Self {
        Self::with_teams(vec![TeamConfig::new(team, DEFAULT_SLA_SECONDS)])
            .expect("built-in config is valid")
    }

    /// Default rules and reasons around the given teams.
    pub fn with_teams(teams: Vec<TeamConfig>) -> Result<Self> {
        let mut c = Config {
            qualification_threshold: default_threshold(),
            regions: BTreeMap::new(),
            teams,
            rules: vec![],
            fallback_team: None,
            reasons: default_reasons(),
            limits: Limits::default(),
            sources: vec![],
            webhooks: WebhooksConfig::default(),
            crm: crate::crm::CrmConfig::default(),
            desktop_release: None,
        };
        c.normalise_and_check()?;
        Ok(c)
    }

    fn normalise_and_check(&mut self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        self.limits.check().map_err(Error::Config)?;
        if self.qualification_threshold > 100 {
            return bad("qualification_threshold must be between 0 and 100".into());
        }
        if self.teams.is_empty() {
            return bad("define at least one [[teams]] entry".into());
        }
        let mut names = HashSet::new();
        for t in &self.teams {
            if t.name.trim().is_empty() || t.name.len() > 64 {
                return bad("a team name must be 1 to 64 characters".into());
            }
            if !names.insert(t.name.as_str()) {
                return bad(format!("team {:?} is defined twice", t.name));
            }
            if t.sla_seconds == 0 || t.sla_seconds > 30 * 24 * 3600 {
                return bad(format!(
                    "team {:?}: sla_seconds must be between 1 and 2592000 (30 days)",
                    t.name
                ));
            }
            if t.remind_at_percent >= 100 {
                return bad(format!(
                    "team {:?}: remind_at_percent must be from 0 (never) to 99",
                    t.name
                ));
            }
            if !(1..=3650).contains(&t.account_match_days) {
                return bad(format!(
                    "team {:?}: account_match_days must be from 1 to 3650",
                    t.name
                ));
            }
        }
        let fallback = self
            .fallback_team
            .clone()
            .unwrap_or_else(|| self.teams[0].name.clone());
        if !names.contains(fallback.as_str()) {
            return bad(format!("fallback_team {fallback:?} is not a defined team"));
        }
        self.fallback_team = Some(fallback);
        for codes in self.regions.values_mut() {
            for c in codes.iter_mut() {
                *c = c.to_ascii_uppercase();
            }
        }
        let mut rule_names = HashSet::new();
        for rule in &self.rules {
            if !rule_names.insert(rule.name.as_str()) {
                return bad(format!("rule {:?} is defined twice", rule.name));
            }
            if !names.contains(rule.team.as_str()) {
                return bad(format!(
                    "rule {:?} sends leads to team {:?}, which is not defined",
                    rule.name, rule.team
                ));
            }
            for cond in &rule.when {
                if cond.one_of.is_none()
                    && cond.not_in.is_none()
                    && cond.min.is_none()
                    && cond.max.is_none()
                {
                    return bad(format!(
                        "rule {:?}: the condition on {:?} needs one of in, not_in, min or max",
                        rule.name, cond.field
                    ));
                }
                if cond.field == "region" {
                    for r in cond.one_of.iter().chain(cond.not_in.iter()).flatten() {
                        if !self.regions.contains_key(r) {
                            return bad(format!(
                                "rule {:?} names region {r:?}, which [regions] does not define",
                                rule.name
                            ));
                        }
                    }
                }
            }
        }
        self.crm.check().map_err(Error::Config)?;
        if let Some(release) = &self.desktop_release {
            check_desktop_release(release).map_err(Error::Config)?;
        }
        let mut source_names = HashSet::new();
        for source in &mut self.sources {
            source.check().map_err(Error::Config)?;
            if !source_names.insert(source.name.clone()) {
                return bad(format!("source {:?} is defined twice", source.name));
            }
        }
        if self.reasons.is_empty() {
            return bad("define at least one rejection reason".into());
        }
        let mut codes = HashSet::new();
        for r in &self.reasons {
            let valid = !r.code.is_empty()
                && r.code.len() <= 64
                && r.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return bad(format!(
                    "reason code {:?} must be 1 to 64 characters of a-z, 0-9 and _",
                    r.code
                ));
            }
            if !codes.insert(r.code.as_str()) {
                return bad(format!("reason {:?} is defined twice", r.code));
            }
            // Reason labels reach reps' screens and managers' CSV exports.
            crate::validate::text(&format!("reason {:?} label", r.code), &r.label, 1, 200)
                .map_err(|e| Error::Config(e.to_string()))?;
        }
        Ok(())
    }

    pub fn team(&self, name: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| t.name == name)
    }

    pub fn source(&self, name: &str) -> Option<&crate::sources::SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    pub fn reason(&self, code: &str) -> Option<&ReasonConfig> {
        self.reasons.iter().find(|r| r.code == code)
    }

    pub fn fallback_team(&self) -> &str {
        self.fallback_team
            .as_deref()
            .expect("set by normalise_and_check")
    }

    pub fn region_of(&self, country: &str) -> Option<&str> {
        self.regions
            .iter()
            .find(|(_, codes)| codes.iter().any(|c| c.eq_ignore_ascii_case(country)))
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
qualification_threshold = 55
fallback_team = "americas"

[regions]
emea = ["de", "FR", "GB"]

[[teams]]
name = "emea"
sla_seconds = 1800

[[teams]]
name = "americas"

[[rules]]
name = "emea-by-country"
team = "emea"
when = [{ field = "region", in = ["emea"] }]
"#;

    #[test]
    fn reads_a_full_config_with_defaults() {
        let c = Config::from_toml(SAMPLE).unwrap();
        assert_eq!(c.qualification_threshold, 55);
        assert_eq!(c.team("emea").unwrap().sla_seconds, 1800);
        assert_eq!(c.team("americas").unwrap().sla_seconds, DEFAULT_SLA_SECONDS);
        assert_eq!(c.region_of("de"), Some("emea"));
        assert_eq!(c.fallback_team(), "americas");
        let other = c.reason("other").unwrap();
        assert!(other.note_required && !other.routes_on);
        assert!(c.reason("wrong_territory").unwrap().routes_on);
        assert_eq!(c.reasons.len(), 8);
    }

    #[test]
    fn refuses_rules_that_name_unknown_teams_or_regions() {
        let bad_team = SAMPLE.replace("team = \"emea\"\nwhen", "team = \"apac\"\nwhen");
        let e = Config::from_toml(&bad_team).unwrap_err().to_string();
        assert!(e.contains("\"apac\", which is not defined"), "{e}");
        let bad_region = SAMPLE.replace("in = [\"emea\"]", "in = [\"nordics\"]");
        let e = Config::from_toml(&bad_region).unwrap_err().to_string();
        assert!(e.contains("region \"nordics\""), "{e}");
    }

    #[test]
    fn limits_default_when_absent_and_are_range_checked() {
        let c = Config::from_toml(SAMPLE).unwrap();
        assert_eq!(c.limits, Limits::default());
        let c = Config::from_toml(&format!("{SAMPLE}\n[limits]\nstreams_per_token = 2\n")).unwrap();
        assert_eq!(c.limits.streams_per_token, 2);
        assert_eq!(c.limits.write_queue, Limits::default().write_queue);
        let e = Config::from_toml(&format!("{SAMPLE}\n[limits]\nheader_timeout_secs = 0\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("limits.header_timeout_secs must be from 1 to 300"),
            "{e}"
        );
        let e = Config::from_toml(&format!("{SAMPLE}\n[limits]\nstream_per_token = 2\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("stream_per_token"), "{e}");
    }

    #[test]
    fn refuses_typos_and_empty_conditions() {
        let e = Config::from_toml("qualification_treshold = 5\n[[teams]]\nname='a'")
            .unwrap_err()
            .to_string();
        assert!(e.contains("qualification_treshold"), "{e}");
        let e = Config::from_toml(
            "[[teams]]\nname='a'\n[[rules]]\nname='r'\nteam='a'\nwhen=[{field='x'}]",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs one of"), "{e}");
    }

    #[test]
    fn a_desktop_release_is_a_version_with_plain_notes_and_https_downloads() {
        let base = "[[teams]]\nname='a'\n[desktop_release]\n";
        let c = Config::from_toml(&format!(
            "{base}version='1.4.0'\nnotes='Faster search'\n[desktop_release.downloads]\ndeb='https://dl.example.com/baton_1.4.0_amd64.deb'\nmsi='https://dl.example.com/Baton_1.4.0_x64.msi'"
        ))
        .unwrap();
        let r = c.desktop_release.unwrap();
        assert_eq!(r.version, "1.4.0");
        assert_eq!(r.downloads.len(), 2);
        for (extra, wanted) in [
            ("version='1.4'", "not a semantic version"),
            (
                "version='1.4.0'\nnotes_url='http://example.com/notes'",
                "desktop_release.notes_url must be an https://",
            ),
            ("version='1.4.0'\nnotes=\"a\\u0007b\"", "control characters"),
            (
                "version='1.4.0'\n[desktop_release.downloads]\ndeb='https://dl.example.com/a b.deb'",
                "downloads.deb must be",
            ),
            (
                "version='1.4.0'\n[desktop_release.downloads]\nzip='https://dl.example.com/a.zip'",
                "unknown variant `zip`",
            ),
        ] {
            let e = Config::from_toml(&format!("{base}{extra}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(wanted), "{extra}: {e}");
        }
        let long = "x".repeat(baton_protocol::DesktopRelease::MAX_NOTES_CHARS + 1);
        let e = Config::from_toml(&format!("{base}version='1.4.0'\nnotes='{long}'"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("longer than 4000"), "{e}");
    }
}
