//! The report rollups' data: cells keyed by day (or month), team and
//! grouping, the counts and speed sketches they hold, and what an offer,
//! decision or lead adds to them. Plain data and arithmetic: the store keeps
//! cells, the report reads them, and neither depends on the other for them.

use std::collections::{BTreeMap, HashMap};

use baton_protocol::{AssignmentOutcome, DECISION_BUCKETS, RepId, Timestamp};

use crate::calibration::DecidedOffers;

/// One assignment with what report grouping needs; the lead's score, source
/// and campaign as they were when it was offered.
#[derive(Clone, Debug, PartialEq)]
pub struct AssignmentFact {
    pub rep_id: RepId,
    pub rep_name: String,
    pub team: String,
    pub channel: String,
    pub score: u32,
    pub outcome: AssignmentOutcome,
    pub assigned_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub reason: Option<String>,
    /// The lead's campaign when it was offered.
    pub campaign: Option<String>,
}

pub const DAY_MS: i64 = 86_400_000;

/// Score bands of ten points: `0-9`, `10-19`, …, `90-100`.
pub fn score_band(score: u32) -> String {
    let low = (score.min(100) / 10 * 10).min(90);
    let high = if low == 90 { 100 } else { low + 9 };
    format!("{low}-{high}")
}

/// The value at quantile `q` (0..=1) of sorted `values`, by linear interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// The UTC day (days since 1970-01-01) of an instant.
pub fn day_of(t: Timestamp) -> i64 {
    t.millis().div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` of a day number.
pub fn day_label(day: i64) -> String {
    Timestamp(day * DAY_MS).to_rfc3339()[..10].to_string()
}

/// The Monday of `day`'s ISO week (1970-01-01 was a Thursday).
pub fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

// ---------------------------------------------------------------------------
// Quantile sketch.

/// Bucket growth: bucket `k` holds durations in (γ^(k-1), γ^k] milliseconds.
const GAMMA: f64 = 1.02;
/// The most a sketch quantile is off from the exact order statistic, relative.
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);
/// Enough buckets for 30 years in milliseconds; longer clamps to the last.
const SKETCH_BUCKETS: usize = 1500;

/// Counts of durations in logarithmic buckets: mergeable (add the counts),
/// small (a few hundred buckets in use at most), and any quantile read from
/// it is within [`RELATIVE_ERROR`] of the true value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    /// Index 0: under 1 ms; index k ≥ 1: bucket k - 1.
    counts: Vec<u64>,
}

impl Sketch {
    fn index(ms: i64) -> usize {
        if ms < 1 {
            return 0;
        }
        let k = ((ms as f64).ln() / GAMMA.ln()).ceil().max(0.0) as usize;
        (k + 1).min(SKETCH_BUCKETS - 1)
    }

    /// The bucket's representative, in seconds: within RELATIVE_ERROR of
    /// every value in it.
    fn value(index: usize) -> f64 {
        if index == 0 {
            return 0.0;
        }
        let upper = GAMMA.powi(index as i32 - 1);
        2.0 * upper / (GAMMA + 1.0) / 1000.0
    }

    pub fn add(&mut self, ms: i64) {
        self.add_n(Self::index(ms), 1);
    }

    fn add_n(&mut self, index: usize, n: u64) {
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += n;
    }

    pub fn merge(&mut self, other: &Sketch) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The value at quantile `q`, in seconds, interpolated between the two
    /// nearest ranks as [`quantile`] does.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let (lo, hi) = (pos.floor() as u64, pos.ceil() as u64);
        let at = |rank: u64| {
            let mut seen = 0;
            for (i, &c) in self.counts.iter().enumerate() {
                seen += c;
                if seen > rank {
                    return Self::value(i);
                }
            }
            Self::value(self.counts.len() - 1)
        };
        let (a, b) = (at(lo), at(hi));
        Some(a + (b - a) * (pos - lo as f64))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let used: Vec<(usize, u64)> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i, *c))
            .collect();
        put_varint(out, used.len() as u64);
        let mut last = 0;
        for (i, c) in used {
            put_varint(out, (i - last) as u64);
            put_varint(out, c);
            last = i;
        }
    }

    fn decode(bytes: &mut &[u8]) -> Option<Sketch> {
        let mut s = Sketch::default();
        s.add_encoded(bytes)?;
        Some(s)
    }

    /// Adds an encoded sketch's counts to this one.
    fn add_encoded(&mut self, bytes: &mut &[u8]) -> Option<()> {
        let mut index = 0usize;
        for _ in 0..get_varint(bytes)? {
            index = index.checked_add(get_varint(bytes)? as usize)?;
            if index >= SKETCH_BUCKETS {
                return None;
            }
            self.add_n(index, get_varint(bytes)?);
        }
        Some(())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Rollup cells.

/// What one group of offers adds up to; groups merge by adding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub assigned: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub sla_expired: u64,
    /// Decisions per [`DECISION_BUCKETS`] bucket (and one for longer).
    pub histogram: [u64; DECISION_BUCKETS.len() + 1],
    /// Offer → decision.
    pub decide: Sketch,
    /// Offer → acceptance.
    pub accept: Sketch,
}

impl Counts {
    pub fn merge(&mut self, o: &Counts) {
        self.assigned += o.assigned;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.sla_expired += o.sla_expired;
        for (a, b) in self.histogram.iter_mut().zip(&o.histogram) {
            *a += b;
        }
        self.decide.merge(&o.decide);
        self.accept.merge(&o.accept);
    }

    /// Whether the speed part (histogram and sketches) holds anything.
    pub fn has_speed(&self) -> bool {
        self.histogram.iter().any(|&c| c > 0)
    }

    /// The speed part as stored: the histogram, then the two sketches.
    pub fn encode_speed(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for &c in &self.histogram {
            put_varint(&mut out, c);
        }
        self.decide.encode(&mut out);
        self.accept.encode(&mut out);
        out
    }

    /// Adds a stored speed part to `self`, entry by entry (cheaper than
    /// decoding it into a sketch of its own and merging that).
    pub fn add_speed(&mut self, mut bytes: &[u8]) -> Option<()> {
        if bytes.is_empty() {
            return Some(());
        }
        let b = &mut bytes;
        for c in self.histogram.iter_mut() {
            *c += get_varint(b)?;
        }
        self.decide.add_encoded(b)?;
        self.accept.add_encoded(b)?;
        b.is_empty().then_some(())
    }

    /// Reads a stored speed part into `self` (which must have none yet).
    pub fn decode_speed(&mut self, mut bytes: &[u8]) -> Option<()> {
        if bytes.is_empty() {
            return Some(());
        }
        let b = &mut bytes;
        for c in self.histogram.iter_mut() {
            *c = get_varint(b)?;
        }
        self.decide = Sketch::decode(b)?;
        self.accept = Sketch::decode(b)?;
        b.is_empty().then_some(())
    }
}

/// The groupings an offer is counted in, one rollup row each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    All,
    Rep,
    Source,
    Campaign,
    Band,
}

impl Dim {
    pub const ALL: [Dim; 5] = [Dim::All, Dim::Rep, Dim::Source, Dim::Campaign, Dim::Band];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::All => "all",
            Dim::Rep => "rep",
            Dim::Source => "source",
            Dim::Campaign => "campaign",
            Dim::Band => "band",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OfferKey {
    pub day: i64,
    pub team: String,
    pub dim: Dim,
    pub key: String,
}

/// Rejections by reason within one rep's or one source's offers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReasonKey {
    pub day: i64,
    pub team: String,
    /// [`Dim::Rep`] or [`Dim::Source`].
    pub dim: Dim,
    pub key: String,
    pub reason: String,
}

/// Decided offers at one exact score from one source (for calibration).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScoreKey {
    pub day: i64,
    pub team: String,
    pub channel: String,
    pub score: u32,
}

/// Leads received at one score (day of receipt; team `""` when not routed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LeadScoreKey {
    pub day: i64,
    pub team: String,
    pub score: u32,
}

/// Rolled-up offers: what the store keeps per day, and what a report reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cells {
    pub offers: HashMap<OfferKey, Counts>,
    pub reasons: HashMap<ReasonKey, u64>,
    /// (accepted, rejected)
    pub scores: HashMap<ScoreKey, (u64, u64)>,
    pub lead_scores: HashMap<LeadScoreKey, u64>,
}

/// The cells an offer counts in: one per grouping, on the day it was made.
fn offer_keys(f: &AssignmentFact) -> impl Iterator<Item = OfferKey> + '_ {
    let day = day_of(f.assigned_at);
    [
        (Dim::All, String::new()),
        (Dim::Rep, f.rep_id.to_string()),
        (Dim::Source, f.channel.clone()),
        (Dim::Campaign, f.campaign.clone().unwrap_or_default()),
        (Dim::Band, score_band(f.score)),
    ]
    .into_iter()
    .map(move |(dim, key)| OfferKey {
        day,
        team: f.team.clone(),
        dim,
        key,
    })
}

impl Cells {
    /// Counts `f` as an offer made (whatever became of it).
    pub fn add_offer(&mut self, f: &AssignmentFact) {
        for k in offer_keys(f) {
            self.offers.entry(k).or_default().assigned += 1;
        }
    }

    /// Counts how `f` ended (decided or taken back); nothing while pending.
    pub fn add_outcome(&mut self, f: &AssignmentFact) {
        let mut delta = Counts::default();
        let took_ms = f.ended_at.map(|e| e.millis() - f.assigned_at.millis());
        match f.outcome {
            AssignmentOutcome::Accepted => delta.accepted = 1,
            AssignmentOutcome::Rejected => delta.rejected = 1,
            AssignmentOutcome::SlaExpired => delta.sla_expired = 1,
            _ => return,
        }
        let decided = f.outcome != AssignmentOutcome::SlaExpired;
        if let (true, Some(ms)) = (decided, took_ms) {
            let secs = ms as f64 / 1000.0;
            let bucket = DECISION_BUCKETS
                .iter()
                .position(|&b| secs <= b as f64)
                .unwrap_or(DECISION_BUCKETS.len());
            delta.histogram[bucket] = 1;
            delta.decide.add(ms);
            if f.outcome == AssignmentOutcome::Accepted {
                delta.accept.add(ms);
            }
        }
        for k in offer_keys(f) {
            self.offers.entry(k).or_default().merge(&delta);
        }
        let day = day_of(f.assigned_at);
        if decided {
            let accepted = f.outcome == AssignmentOutcome::Accepted;
            let e = self
                .scores
                .entry(ScoreKey {
                    day,
                    team: f.team.clone(),
                    channel: f.channel.clone(),
                    score: f.score.min(100),
                })
                .or_default();
            if accepted {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        if f.outcome == AssignmentOutcome::Rejected {
            let reason = f.reason.clone().unwrap_or_else(|| "other".into());
            for (dim, key) in [
                (Dim::Rep, f.rep_id.to_string()),
                (Dim::Source, f.channel.clone()),
            ] {
                *self
                    .reasons
                    .entry(ReasonKey {
                        day,
                        team: f.team.clone(),
                        dim,
                        key,
                        reason: reason.clone(),
                    })
                    .or_default() += 1;
            }
        }
    }

    /// Counts `f` whole: the offer and how it ended.
    pub fn add_fact(&mut self, f: &AssignmentFact) {
        self.add_offer(f);
        self.add_outcome(f);
    }

    /// Counts a lead received on `day` with `score` (routed to `team`).
    pub fn add_lead(&mut self, day: i64, team: Option<&str>, score: u32, n: i64) {
        let k = LeadScoreKey {
            day,
            team: team.unwrap_or_default().to_string(),
            score: score.min(100),
        };
        let e = self.lead_scores.entry(k).or_default();
        *e = e.saturating_add_signed(n);
    }

    pub fn merge(&mut self, o: Cells) {
        for (k, v) in o.offers {
            self.offers.entry(k).or_default().merge(&v);
        }
        for (k, v) in o.reasons {
            *self.reasons.entry(k).or_default() += v;
        }
        for (k, (a, r)) in o.scores {
            let e = self.scores.entry(k).or_default();
            e.0 += a;
            e.1 += r;
        }
        for (k, v) in o.lead_scores {
            *self.lead_scores.entry(k).or_default() += v;
        }
    }

    /// The same counts per calendar month (`day` = the month's first day),
    /// without [`Dim::All`] offers, which are only ever read daily.
    pub fn by_month(&self) -> Cells {
        let mut out = Cells::default();
        for (k, c) in self.offers.iter().filter(|(k, _)| k.dim != Dim::All) {
            let k = OfferKey {
                day: month_start(k.day),
                ..k.clone()
            };
            out.offers.entry(k).or_default().merge(c);
        }
        for (k, n) in &self.reasons {
            let k = ReasonKey {
                day: month_start(k.day),
                ..k.clone()
            };
            *out.reasons.entry(k).or_default() += n;
        }
        for (k, (a, r)) in &self.scores {
            let k = ScoreKey {
                day: month_start(k.day),
                ..k.clone()
            };
            let e = out.scores.entry(k).or_default();
            e.0 += a;
            e.1 += r;
        }
        for (k, n) in &self.lead_scores {
            let k = LeadScoreKey {
                day: month_start(k.day),
                ..k.clone()
            };
            *out.lead_scores.entry(k).or_default() += n;
        }
        out
    }

    /// Decided offers per (source, score), for calibration.
    pub fn decided_offers(&self) -> Vec<DecidedOffers> {
        let mut m: BTreeMap<(&str, u32), (u64, u64)> = BTreeMap::new();
        for (k, (a, r)) in &self.scores {
            let e = m.entry((k.channel.as_str(), k.score)).or_default();
            e.0 += a;
            e.1 += r;
        }
        m.into_iter()
            .map(|((source, score), (accepted, rejected))| DecidedOffers {
                score,
                source: source.to_string(),
                accepted,
                rejected,
            })
            .collect()
    }

    /// Leads received per score 0..=100.
    pub fn score_counts(&self) -> [u64; 101] {
        let mut out = [0u64; 101];
        for (k, n) in &self.lead_scores {
            out[k.score.min(100) as usize] += n;
        }
        out
    }
}

/// The civil date (year, month 1-12, day 1-31) of a day number (H. Hinnant's
/// `civil_from_days`, proleptic Gregorian).
pub fn civil_from_days(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The day number of the first day of `day`'s month.
pub fn month_start(day: i64) -> i64 {
    let (_, _, d) = civil_from_days(day);
    day - i64::from(d) + 1
}

/// The day number of the first day of the month after `day`'s.
pub fn next_month_start(day: i64) -> i64 {
    // 31 days past the month's first day is always in the next month.
    month_start(month_start(day) + 31)
}

/// How finely a rollup counts: per UTC day, or per calendar month (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grain {
    Day,
    Month,
}

/// Which rollups a report needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellPart {
    /// Offers of every team and grouping, day by day ([`Dim::All`] only):
    /// the totals, teams and trends.
    Trend,
    /// Offers by rep, source, campaign and band, and rejection reasons,
    /// summed over the range (their `day` is the range's first day).
    Groups,
    /// Decided offers per exact score and source, and leads received per
    /// score, summed over the range.
    Calibration,
}

/// One read of the rollups: `[first_day, end_day)` at `grain` (month ranges
/// start on a month's first day and end on one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellQuery {
    pub grain: Grain,
    pub first_day: i64,
    pub end_day: i64,
    pub part: CellPart,
}

/// One stay in a team's queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueEpisode {
    pub team: String,
    pub queued_at: Timestamp,
    pub left_at: Option<Timestamp>,
    /// How it ended: to a rep, or back to marketing.
    pub assigned: bool,
}
