//! Outbound events, delivered to managers' endpoints as Standard Webhooks.
//!
//! Routing records an event in the same write job as the change it reports
//! ([`emit`]), so a committed change always has its event and a rolled-back
//! one never does. The delivery worker ([`run_worker`]) runs on the instance
//! that runs the SLA sweeper (exactly one, with several instances), sends
//! each due delivery signed per the Standard Webhooks specification (the
//! `standardwebhooks` crate), and records every attempt. Delivery is at least
//! once, with the same `webhook-id` on every retry and replay; a receiver
//! de-duplicates on it.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_protocol::{Assignment, Definition, EndpointKind, EventType, Timestamp, WireName};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};

use crate::api::AppState;
use crate::error::{Error, Result};
use crate::store::{AttemptOutcome, AttemptRecord, DueDelivery, LeadRow, NewEvent, WriteTx};

/// Seconds to wait before each attempt: the first at once, then 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h and 10 h (about 27 h in all), each with ±20 %
/// jitter so that retries of many deliveries do not arrive together.
pub const SCHEDULE: [u64; 8] = [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/// One attempt: connecting, sending and the answer's status.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// A delivery being sent is due again after this long if its attempt is
/// never recorded (its instance died): at least once, never lost.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);
/// An endpoint whose every attempt has failed for this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * 3600 * 1000;
/// A `Retry-After` longer than this is read as this.
const MAX_RETRY_AFTER: u64 = 24 * 3600;
/// Deliveries in flight at once: in all, and to one endpoint (so a slow
/// endpoint holds a few of the worker's slots, never all of them).
const MAX_IN_FLIGHT: usize = 64;
const MAX_IN_FLIGHT_PER_ENDPOINT: usize = 8;
/// The worker looks for due deliveries at least this often (retries fall
/// due; another instance recorded events) besides being woken by commits.
const POLL: Duration = Duration::from_secs(1);

/// The `webhook-id` of an event: the same for every endpoint, attempt and replay.
pub fn message_id(event_id: i64) -> String {
    format!("msg_{event_id}")
}

/// Event types stored as `a,b,c`.
pub fn parse_event_list(s: &str) -> Vec<EventType> {
    let mut v: Vec<EventType> = s
        .split(',')
        .filter(|t| !t.is_empty())
        .filter_map(|t| EventType::parse(t).ok())
        .collect();
    v.sort_by_key(|t| EventType::ALL.iter().position(|a| a == t));
    v
}

/// A fresh signing secret in the Standard Webhooks format.
pub fn new_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

// ---------------------------------------------------------------------------
// Events, as routing emits them.

/// A rep as events name them.
pub fn rep_json(id: i64, name: &str) -> Value {
    json!({ "id": id, "name": name })
}

/// An offer as events carry it.
pub fn assignment_json(a: &Assignment) -> Value {
    json!({
        "id": a.id,
        "rep": rep_json(a.rep_id, &a.rep_name),
        "team": a.team,
        "rule": a.rule,
        "routing_reason": a.why,
        "assigned_at": a.assigned_at,
        "sla_due_at": a.sla_due_at,
    })
}

/// Records `kind` for `lead`: the lead's identity, source and score, the
/// time, and `extra` (the rep, the offer, the decision).
pub fn emit(
    tx: &mut dyn WriteTx,
    kind: EventType,
    lead: &LeadRow,
    at: Timestamp,
    extra: Value,
) -> Result<()> {
    let intake = &lead.intake;
    let mut data = Map::new();
    data.insert("lead_id".into(), json!(lead.id));
    data.insert("external_id".into(), json!(lead.external_id));
    data.insert("source".into(), json!(lead.intake_source));
    data.insert("channel".into(), json!(intake.source.channel));
    data.insert("campaign".into(), json!(intake.source.campaign));
    data.insert("score".into(), json!(intake.score.value));
    data.insert("status".into(), json!(lead.status));
    data.insert("team".into(), json!(lead.team));
    data.insert(
        "contact".into(),
        json!({
            "name": intake.contact.name,
            "email": intake.contact.email,
            "company": intake.contact.company,
        }),
    );
    if let Value::Object(more) = extra {
        data.extend(more);
    }
    let payload = json!({ "type": kind, "timestamp": at, "data": data }).to_string();
    tx.emit_event(&NewEvent {
        event_type: kind,
        lead_id: lead.id,
        source: lead.intake_source.as_deref(),
        occurred_at: at,
        payload: &payload,
    })
}

/// The lead id that events about no lead carry: deliveries are ordered per
/// endpoint and lead, so such events stay in order among themselves.
pub const NO_LEAD: i64 = 0;

/// `definition.published`: a version came into force. Written in the
/// publishing transaction, like every event.
pub fn emit_definition(tx: &mut dyn WriteTx, d: &Definition) -> Result<()> {
    let data = json!({
        "version": d.version,
        "threshold": d.threshold,
        "author": d.author,
        "note": d.note,
        "changes": d.changes,
        "effective_at": d.effective_at,
        "criteria": d.criteria,
        "reasons": d.reasons,
    });
    let kind = EventType::DefinitionPublished;
    let payload = json!({ "type": kind, "timestamp": d.effective_at, "data": data }).to_string();
    tx.emit_event(&NewEvent {
        event_type: kind,
        lead_id: NO_LEAD,
        source: None,
        occurred_at: d.effective_at,
        payload: &payload,
    })
}

// ---------------------------------------------------------------------------
// Where deliveries may go.

/// Addresses an endpoint may not resolve to unless private targets are
/// allowed: loopback, private, link-local, shared (CGNAT), unspecified,
/// multicast, broadcast and documentation ranges, in IPv4 and IPv6 (and
/// IPv4 inside IPv6).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
        }
    }
}

/// Checks an endpoint URL as registered: https (http only when private
/// targets are allowed, for receivers on the same network), no
/// credentials, a host that resolves only to public addresses.
pub async fn check_target(url: &str, allow_private: bool) -> Result<reqwest::Url> {
    let bad = |m: &str| Err(Error::field("url", m.to_string()));
    if url.len() > 2000 {
        return bad("is longer than 2000 characters");
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return bad("is not a URL such as https://hooks.example.com/baton");
    };
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return bad(
                "must be https (http is accepted only with [webhooks] allow_private_targets)",
            );
        }
        _ => return bad("must be an https URL"),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad(
            "must not carry credentials; the signature authenticates Baton to the receiver",
        );
    }
    let Some(host) = parsed.host_str() else {
        return bad("has no host");
    };
    if parsed.fragment().is_some() {
        return bad("must not have a #fragment");
    }
    if allow_private {
        return Ok(parsed);
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::field("url", format!("its host {host:?} does not resolve: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    if let Some(ip) = addrs.iter().find(|ip| is_private(**ip)) {
        return Err(Error::field(
            "url",
            format!(
                "resolves to {ip}, a loopback, private or link-local address; Baton sends events only to public endpoints (set [webhooks] allow_private_targets = true to allow it)"
            ),
        ));
    }
    Ok(parsed)
}

/// Resolves endpoints' hosts at each connection and drops private
/// addresses (unless allowed), so a name that re-resolves to an internal
/// address after registration is refused at delivery.
struct PublicOnly {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to private addresses, where Baton does not send events"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The worker's HTTP client: no redirects, 15 s per attempt.
pub fn http_client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(MAX_IN_FLIGHT_PER_ENDPOINT)
        .user_agent(concat!("Baton-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .build()
        .expect("the webhook client's settings are valid")
}

// ---------------------------------------------------------------------------
// Delivery.

/// What one attempt heard.
#[derive(Debug, Default)]
struct Heard {
    status: Option<u16>,
    error: Option<String>,
    retry_after: Option<u64>,
    /// Trying again cannot help (a CRM has no such record).
    permanent: bool,
}

impl From<crate::crm::CrmHeard> for Heard {
    fn from(h: crate::crm::CrmHeard) -> Self {
        Heard {
            status: h.status,
            error: h.error,
            retry_after: h.retry_after,
            permanent: h.permanent,
        }
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap, now: Timestamp) -> Option<u64> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs.min(MAX_RETRY_AFTER));
    }
    // An HTTP date.
    let at = httpdate_to_millis(v)?;
    Some(
        (((at - now.millis()).max(0)) / 1000)
            .unsigned_abs()
            .min(MAX_RETRY_AFTER),
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate_to_millis(v: &str) -> Option<i64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])?
        + 1;
    let text = format!("{}-{month:02}-{:0>2}T{}Z", parts[3], parts[1], parts[4]);
    text.parse::<Timestamp>().ok().map(|t| t.millis())
}

async fn send(client: &reqwest::Client, d: &DueDelivery, allow_private: bool) -> Heard {
    let now = crate::clock::now();
    let id = message_id(d.event_id);
    let signature = match standardwebhooks::Webhook::new(&d.secret)
        .and_then(|w| w.sign(&id, now.millis() / 1000, d.payload.as_bytes()))
    {
        Ok(s) => s,
        Err(e) => {
            return Heard {
                error: Some(format!("the endpoint's secret cannot sign: {e}")),
                ..Heard::default()
            };
        }
    };
    // A host given as an address is not resolved (so not filtered): check it here.
    if !allow_private
        && let Ok(url) = reqwest::Url::parse(&d.url)
        && let Some(ip) = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok())
        && is_private(ip)
    {
        return Heard {
            error: Some(format!("{ip} is a private address; not sent")),
            ..Heard::default()
        };
    }
    let sent = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", (now.millis() / 1000).to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status();
            let mut heard = Heard {
                status: Some(status.as_u16()),
                retry_after: retry_after(resp.headers(), now),
                ..Heard::default()
            };
            if status.is_redirection() {
                heard.error = Some(format!(
                    "answered {status} (a redirect): redirects are not followed; register the final URL"
                ));
            } else if !status.is_success() {
                heard.error = Some(format!("answered {status}"));
            }
            heard
        }
        Err(e) => Heard {
            error: Some(if e.is_timeout() {
                format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())
            } else if e.is_connect() {
                format!("could not connect: {}", root_cause(&e))
            } else {
                format!("the request failed: {}", root_cause(&e))
            }),
            ..Heard::default()
        },
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A factor from 0.8 to 1.2.
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b).expect("the OS random source works");
    0.8 + 0.4 * f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// What to record for an attempt that heard `heard`.
fn outcome(d: &DueDelivery, heard: Heard, now: Timestamp) -> AttemptOutcome {
    let status = heard.status;
    let Some(error) = heard.error else {
        return AttemptOutcome::Delivered {
            status: status.unwrap_or(200),
        };
    };
    if status == Some(410) {
        return AttemptOutcome::Disable {
            status,
            error,
            reason: "the endpoint answered 410 Gone".into(),
        };
    }
    if let Some(since) = d.endpoint_failing_since
        && now.millis() - since.millis() >= DISABLE_AFTER_MS
    {
        return AttemptOutcome::Disable {
            status,
            error,
            reason: format!("every delivery has failed since {since}"),
        };
    }
    let done = d.attempts as usize + 1;
    let Some(wait) = SCHEDULE.get(done).filter(|_| !heard.permanent) else {
        return AttemptOutcome::GaveUp { status, error };
    };
    let scheduled = (*wait as f64 * jitter()) as u64;
    let secs = scheduled.max(heard.retry_after.unwrap_or(0));
    AttemptOutcome::Retry {
        status,
        error,
        next_at: now.plus_millis(secs as i64 * 1000),
    }
}

/// Deliveries in flight, so the worker neither sends one twice at once nor
/// gives one endpoint more than its share.
#[derive(Default)]
struct InFlight {
    ids: HashSet<i64>,
    per_endpoint: HashMap<i64, usize>,
}

impl InFlight {
    fn done(&mut self, d: &DueDelivery) {
        self.ids.remove(&d.id);
        if let Some(n) = self.per_endpoint.get_mut(&d.endpoint_id) {
            *n -= 1;
            if *n == 0 {
                self.per_endpoint.remove(&d.endpoint_id);
            }
        }
    }
}

/// Sends due deliveries until shutdown, while this instance runs the
/// sweeper. Woken by commits that recorded events, and every second.
pub async fn run_worker(state: AppState, wakeup: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let allow_private = state.config.webhooks.allow_private_targets;
    let client = http_client(allow_private);
    let crm_client = crate::crm::http_client();
    let owners = Arc::new(crate::crm::Owners::default());
    let in_flight = Arc::new(Mutex::new(InFlight::default()));
    loop {
        if *shutdown.borrow() {
            return;
        }
        if state.db.runs_sweeper() {
            let now = crate::clock::now();
            match state.db.read(move |tx| tx.due_deliveries(now, 256)).await {
                Ok(due) => {
                    for d in due {
                        {
                            let mut f = in_flight.lock().expect("in-flight set");
                            let on_endpoint =
                                f.per_endpoint.get(&d.endpoint_id).copied().unwrap_or(0);
                            if f.ids.contains(&d.id)
                                || f.ids.len() >= MAX_IN_FLIGHT
                                || on_endpoint >= MAX_IN_FLIGHT_PER_ENDPOINT
                            {
                                continue;
                            }
                            f.ids.insert(d.id);
                            *f.per_endpoint.entry(d.endpoint_id).or_default() += 1;
                        }
                        let (state, client, in_flight, wakeup) = (
                            state.clone(),
                            client.clone(),
                            in_flight.clone(),
                            wakeup.clone(),
                        );
                        let (crm_client, owners) = (crm_client.clone(), owners.clone());
                        tokio::spawn(async move {
                            // Claimed first: a list of due deliveries may be
                            // older than the record of an attempt just made,
                            // and a claim is a lease that another worker
                            // (after a crash) waits out.
                            let (id, now) = (d.id, crate::clock::now());
                            let lease = now.plus_millis(CLAIM_LEASE.as_millis() as i64);
                            let claimed = state
                                .db
                                .write(move |tx| tx.claim_delivery(id, now, lease))
                                .await
                                .unwrap_or(false);
                            if !claimed {
                                in_flight.lock().expect("in-flight set").done(&d);
                                return;
                            }
                            let heard = match d.kind {
                                EndpointKind::Webhook => send(&client, &d, allow_private).await,
                                _ => crate::crm::attempt(
                                    &crm_client,
                                    &state.config.crm,
                                    &owners,
                                    &state.db,
                                    &d,
                                )
                                .await
                                .into(),
                            };
                            let now = crate::clock::now();
                            let record = AttemptRecord {
                                delivery_id: d.id,
                                endpoint_id: d.endpoint_id,
                                at: now,
                                outcome: outcome(&d, heard, now),
                            };
                            if let AttemptOutcome::Disable { reason, .. } = &record.outcome {
                                tracing::error!(endpoint = d.endpoint_id, reason = %reason, "webhook endpoint disabled");
                            }
                            if let Err(e) = state
                                .db
                                .write(move |tx| tx.record_delivery_attempt(&record))
                                .await
                            {
                                // Not recorded: the delivery stays due and is
                                // sent again (the receiver de-duplicates).
                                tracing::warn!(error = %e, delivery = d.id, "could not record a webhook attempt");
                            }
                            in_flight.lock().expect("in-flight set").done(&d);
                            wakeup.notify_one();
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read due webhook deliveries"),
            }
        }
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn targets_are_checked_before_registration() {
        let field = |r: Result<reqwest::Url>| match r {
            Err(Error::InvalidField { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert!(field(check_target("http://93.184.216.34/x", false).await).contains("https"));
        assert!(field(check_target("https://127.0.0.1/x", false).await).contains("private"));
        assert!(field(check_target("https://[::1]/x", false).await).contains("private"));
        assert!(
            field(check_target("https://u:p@93.184.216.34/", false).await).contains("credentials")
        );
        assert!(field(check_target("ftp://example.com/", false).await).contains("https"));
        assert!(
            check_target("https://93.184.216.34/hook", false)
                .await
                .is_ok()
        );
        assert!(check_target("http://127.0.0.1:9/x", true).await.is_ok());
    }

    fn due(attempts: u32, failing_since: Option<Timestamp>) -> DueDelivery {
        DueDelivery {
            id: 1,
            endpoint_id: 1,
            url: "https://x.example/".into(),
            secret: new_secret(),
            event_id: 9,
            lead_id: 3,
            occurred_at: Timestamp::from_millis(0),
            payload: "{}".into(),
            attempts,
            endpoint_failing_since: failing_since,
            kind: EndpointKind::Webhook,
        }
    }

    #[test]
    fn retries_follow_the_schedule_with_jitter_and_retry_after() {
        let now = Timestamp::from_millis(1_000_000_000_000);
        let failed = |retry_after| Heard {
            status: Some(503),
            error: Some("answered 503".into()),
            retry_after,
            permanent: false,
        };
        for (attempts, wait) in [(0u32, 5u64), (1, 300), (2, 1800), (6, 36_000)] {
            match outcome(&due(attempts, None), failed(None), now) {
                AttemptOutcome::Retry { next_at, .. } => {
                    let secs = (next_at.millis() - now.millis()) / 1000;
                    let (lo, hi) = ((wait as f64 * 0.8) as i64, (wait as f64 * 1.2) as i64 + 1);
                    assert!((lo..=hi).contains(&secs), "attempt {attempts}: {secs} s");
                }
                other => panic!("{other:?}"),
            }
        }
        match outcome(&due(0, None), failed(Some(120)), now) {
            AttemptOutcome::Retry { next_at, .. } => {
                assert!(
                    next_at.millis() - now.millis() >= 120_000,
                    "Retry-After wins"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            outcome(&due(7, None), failed(None), now),
            AttemptOutcome::GaveUp { .. }
        ));
        let gone = Heard {
            status: Some(410),
            error: Some("answered 410".into()),
            ..Heard::default()
        };
        let no_contact = Heard {
            status: Some(404),
            error: Some("answered 404".into()),
            permanent: true,
            ..Heard::default()
        };
        assert!(matches!(
            outcome(&due(0, None), no_contact, now),
            AttemptOutcome::GaveUp { .. }
        ));
        assert!(matches!(
            outcome(&due(0, None), gone, now),
            AttemptOutcome::Disable { .. }
        ));
        let days = Timestamp::from_millis(now.millis() - DISABLE_AFTER_MS);
        assert!(matches!(
            outcome(&due(3, Some(days)), failed(None), now),
            AttemptOutcome::Disable { .. }
        ));
        assert!(matches!(
            outcome(
                &due(3, Some(days)),
                Heard {
                    status: Some(200),
                    ..Heard::default()
                },
                now
            ),
            AttemptOutcome::Delivered { .. }
        ));
    }

    #[test]
    fn http_dates_are_read() {
        let now: Timestamp = "1994-11-06T08:49:00Z".parse().unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(37));
        h.insert("retry-after", "90".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(90));
        h.insert("retry-after", "99999999".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(MAX_RETRY_AFTER));
    }
}
