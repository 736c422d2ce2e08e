//! What the lead view says about why a lead is the rep's: the definition
//! it qualified under ("Qualified under definition v4 — score 78 ≥ 72"),
//! the "How to open" lines of that definition that apply to it, and the
//! one line of why routing chose this rep ("Next in team sales' rotation —
//! skipped: Ben off shift, Cid at cap"), with each rep it passed over and
//! why. Pure functions: the desktop app and the CLI show these words as
//! they are.

use baton_protocol::{
    ConsideredRep, Definition, Lead, Opener, Qualification, RepId, RoutingExplanation, SkipReason,
    Timestamp,
};
use serde::{Deserialize, Serialize};

/// Everything the lead view shows about why the lead came to the rep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct LeadContext {
    /// The definition version, its threshold and the lead's score then.
    pub qualification: Option<Qualification>,
    /// "Qualified under definition v4 — score 78 ≥ 72".
    pub qualified_line: Option<String>,
    /// That definition, when this client has it (it is cached once seen).
    pub definition: Option<Definition>,
    /// "How to open": the lines of the definition that apply to this lead.
    pub openers: Vec<Opener>,
    /// Why the current offer came to this rep.
    pub why: Option<WhyView>,
}

/// Why routing offered the lead to this rep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct WhyView {
    /// "Next in team sales' rotation — skipped: Ben off shift, Cid at cap",
    /// or "Holds the account acme.io".
    pub line: String,
    /// The routing rule that chose the team, with its conditions.
    pub rule: Option<String>,
    /// Each rep routing looked at, in the order it looked (empty when the
    /// server sent no explanation).
    pub considered: Vec<ConsideredView>,
}

/// One rep routing looked at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct ConsideredView {
    pub rep_id: RepId,
    pub rep_name: String,
    /// This rep got the lead.
    pub chosen: bool,
    pub skipped: Option<SkipReason>,
    /// "got the lead", "outside their working hours", …
    pub text: String,
}

/// Under which definition the lead qualified: as the lead says, else as
/// its offer's explanation says.
pub fn qualification(lead: &Lead) -> Option<Qualification> {
    lead.qualification.or_else(|| {
        lead.assignment
            .as_ref()
            .and_then(|a| a.explanation.as_ref())
            .and_then(|e| e.qualification)
    })
}

/// The lead's context, with `definition` if it is the one the lead was
/// qualified under.
pub fn context(lead: &Lead, definition: Option<Definition>) -> LeadContext {
    let qualification = qualification(lead);
    let definition = definition.filter(|d| qualification.is_some_and(|q| q.version == d.version));
    let openers = definition
        .as_ref()
        .map(|d| d.openers_for(lead))
        .unwrap_or_default();
    LeadContext {
        qualification,
        qualified_line: qualification.map(|q| qualified_line(&q)),
        definition,
        openers,
        why: why(lead),
    }
}

/// "Qualified under definition v4 — score 78 ≥ 72" (or, for a lead below
/// the threshold, "Below the threshold of definition v4 — score 55 < 72").
pub fn qualified_line(q: &Qualification) -> String {
    if q.score >= q.threshold {
        format!(
            "Qualified under definition v{} — score {} ≥ {}",
            q.version, q.score, q.threshold
        )
    } else {
        format!(
            "Below the threshold of definition v{} — score {} < {}",
            q.version, q.score, q.threshold
        )
    }
}

/// Why the lead's current offer came to its rep; `None` without an offer.
pub fn why(lead: &Lead) -> Option<WhyView> {
    let a = lead.assignment.as_ref()?;
    let Some(e) = &a.explanation else {
        // A server from before explanations: its sentence, as it wrote it.
        return Some(WhyView {
            line: a.why.clone(),
            rule: (!a.rule.is_empty()).then(|| format!("Rule “{}”", a.rule)),
            considered: Vec::new(),
        });
    };
    Some(WhyView {
        line: why_line(e, a.rep_id),
        rule: rule_line(e),
        considered: e
            .considered
            .iter()
            .map(|c| considered(c, a.rep_id))
            .collect(),
    })
}

/// The one line: the account the rep holds, or their place in the
/// rotation with the reps passed over.
pub fn why_line(e: &RoutingExplanation, rep: RepId) -> String {
    if let Some(m) = &e.account_match
        && m.used
        && m.rep_id == rep
    {
        return format!("Holds the account {}", m.account);
    }
    let mut line = format!("Next in team {} rotation", possessive(&e.team));
    let skipped: Vec<String> = e
        .considered
        .iter()
        .filter_map(|c| Some(format!("{} {}", c.rep_name, skip_words(c.skipped?))))
        .collect();
    if !skipped.is_empty() {
        line.push_str(" — skipped: ");
        line.push_str(&skipped.join(", "));
    }
    if let Some(m) = &e.account_match
        && !m.used
    {
        line.push_str(&format!(
            " (account {} is {}'s, who could not take it)",
            m.account, m.rep_name
        ));
    }
    line
}

/// "sales'" or "emea's".
fn possessive(team: &str) -> String {
    if team.ends_with('s') {
        format!("{team}'")
    } else {
        format!("{team}'s")
    }
}

fn rule_line(e: &RoutingExplanation) -> Option<String> {
    match (e.rule.trim(), e.rule_detail.trim()) {
        ("", "") => None,
        (rule, "") => Some(format!("Rule “{rule}”")),
        ("", detail) => Some(detail.to_string()),
        (rule, detail) => Some(format!("Rule “{rule}”: {detail}")),
    }
}

/// A skip reason in the one line: "Ben off shift".
pub fn skip_words(s: SkipReason) -> &'static str {
    match s {
        SkipReason::Away => "away",
        SkipReason::OffShift => "off shift",
        SkipReason::Absent => "absent",
        SkipReason::AtCap => "at cap",
        SkipReason::RejectedBefore => "rejected it before",
        SkipReason::ExpiredBefore => "let it expire before",
        SkipReason::Unknown => "skipped",
    }
}

/// A skip reason in the details: a sentence of its own.
pub fn skip_sentence(s: SkipReason) -> &'static str {
    match s {
        SkipReason::Away => "had set themself away",
        SkipReason::OffShift => "was outside their working hours",
        SkipReason::Absent => "was away today (an absence)",
        SkipReason::AtCap => "already held as many undecided leads as their cap allows",
        SkipReason::RejectedBefore => "had rejected this lead before",
        SkipReason::ExpiredBefore => "had let this lead's SLA run out before",
        SkipReason::Unknown => "was skipped for a reason this version of Baton does not know",
    }
}

fn considered(c: &ConsideredRep, rep: RepId) -> ConsideredView {
    let chosen = c.skipped.is_none() && c.rep_id == rep;
    let text = match c.skipped {
        Some(s) => skip_sentence(s).to_string(),
        None if chosen => "got the lead".to_string(),
        None => "was considered".to_string(),
    };
    ConsideredView {
        rep_id: c.rep_id,
        rep_name: c.rep_name.clone(),
        chosen,
        skipped: c.skipped,
        text,
    }
}

/// `HH:MM` of `t` in this computer's time zone.
pub fn local_time(t: Timestamp) -> String {
    time_in(t, &chrono::Local)
}

/// `HH:MM` of `t` in `tz`.
pub fn time_in<Tz: chrono::TimeZone>(t: Timestamp, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    chrono::DateTime::from_timestamp_millis(t.millis())
        .map(|d| d.with_timezone(tz).format("%H:%M").to_string())
        .unwrap_or_else(|| "--:--".into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use baton_protocol::{
        AccountMatch, Assignment, AssignmentOutcome, Criterion, CriterionKind, QuizAnswer,
        ScoreItem,
    };

    fn rep(id: RepId, name: &str, skipped: Option<SkipReason>) -> ConsideredRep {
        ConsideredRep {
            rep_id: id,
            rep_name: name.into(),
            skipped,
        }
    }

    fn explanation(team: &str, considered: Vec<ConsideredRep>) -> RoutingExplanation {
        RoutingExplanation {
            qualification: Some(Qualification {
                version: 4,
                threshold: 72,
                score: 78,
            }),
            team: team.into(),
            rule: "emea-by-country".into(),
            rule_detail: "country is DE".into(),
            account_match: None,
            considered,
        }
    }

    pub(crate) fn lead_with(explanation: Option<RoutingExplanation>) -> Lead {
        let now = Timestamp(1_800_000_000_000);
        Lead {
            id: 7,
            external_id: "x7".into(),
            status: baton_protocol::LeadStatus::Assigned,
            source: Default::default(),
            contact: Default::default(),
            score: baton_protocol::Score {
                value: 78,
                breakdown: vec![ScoreItem {
                    criterion: "Pricing page visits".into(),
                    points: 20,
                }],
            },
            quiz: vec![QuizAnswer {
                question: "How many reps?".into(),
                answer: "More than 100".into(),
                points: Some(30),
            }],
            behaviours: vec![],
            intent: Default::default(),
            team: Some("sales".into()),
            assignment: Some(Assignment {
                id: 70,
                lead_id: 7,
                rep_id: 1,
                rep_name: "Ava".into(),
                team: "sales".into(),
                rule: "fallback".into(),
                why: "Ava was next in the team's rotation".into(),
                assigned_at: now,
                sla_due_at: now.plus_millis(3_600_000),
                outcome: AssignmentOutcome::Pending,
                ended_at: None,
                explanation,
            }),
            returned: None,
            qualification: Some(Qualification {
                version: 4,
                threshold: 72,
                score: 78,
            }),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    pub(crate) fn definition(version: u32) -> Definition {
        let criterion = |kind, key: &str, value: Option<&str>, opener: Option<&str>| Criterion {
            kind,
            key: key.into(),
            value: value.map(Into::into),
            points: Some(30),
            meaning: "large floors route the most".into(),
            opener: opener.map(Into::into),
        };
        Definition {
            version,
            threshold: 72,
            criteria: vec![
                criterion(
                    CriterionKind::QuizAnswer,
                    "How many reps?",
                    Some("More than 100"),
                    Some("Open with the routing audit for large floors"),
                ),
                criterion(
                    CriterionKind::QuizAnswer,
                    "How many reps?",
                    Some("Fewer than 10"),
                    Some("Offer the starter plan"),
                ),
                criterion(CriterionKind::ScoreItem, "Pricing page visits", None, None),
            ],
            reasons: vec![],
            effective_at: Timestamp(1_700_000_000_000),
            author: "Morgan".into(),
            note: "Large floors first".into(),
            changes: vec![],
        }
    }

    #[test]
    fn the_rotation_line_names_each_rep_passed_over_and_why() {
        let e = explanation(
            "sales",
            vec![
                rep(2, "Ben", Some(SkipReason::OffShift)),
                rep(3, "Cid", Some(SkipReason::AtCap)),
                rep(1, "Ava", None),
            ],
        );
        assert_eq!(
            why_line(&e, 1),
            "Next in team sales' rotation — skipped: Ben off shift, Cid at cap"
        );
        let e = explanation("emea", vec![rep(1, "Ava", None)]);
        assert_eq!(why_line(&e, 1), "Next in team emea's rotation");
    }

    #[test]
    fn an_account_the_rep_holds_is_the_whole_reason() {
        let mut e = explanation("sales", vec![rep(2, "Ben", Some(SkipReason::Away))]);
        e.account_match = Some(AccountMatch {
            account: "acme.io".into(),
            rep_id: 1,
            rep_name: "Ava".into(),
            lead_id: 3,
            used: true,
        });
        assert_eq!(why_line(&e, 1), "Holds the account acme.io");
        // The holder could not take it: round robin decided, and says so.
        let m = e.account_match.as_mut().unwrap();
        m.used = false;
        m.rep_id = 2;
        m.rep_name = "Ben".into();
        assert_eq!(
            why_line(&e, 1),
            "Next in team sales' rotation — skipped: Ben away (account acme.io is Ben's, who could not take it)"
        );
    }

    #[test]
    fn the_details_list_every_rep_considered_with_a_sentence() {
        let lead = lead_with(Some(explanation(
            "sales",
            vec![
                rep(2, "Ben", Some(SkipReason::Absent)),
                rep(4, "Dee", Some(SkipReason::RejectedBefore)),
                rep(1, "Ava", None),
            ],
        )));
        let w = why(&lead).unwrap();
        assert_eq!(
            w.rule.as_deref(),
            Some("Rule “emea-by-country”: country is DE")
        );
        let texts: Vec<_> = w
            .considered
            .iter()
            .map(|c| (c.rep_name.as_str(), c.chosen, c.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("Ben", false, "was away today (an absence)"),
                ("Dee", false, "had rejected this lead before"),
                ("Ava", true, "got the lead"),
            ]
        );
    }

    #[test]
    fn without_an_explanation_the_servers_sentence_stands() {
        let w = why(&lead_with(None)).unwrap();
        assert_eq!(w.line, "Ava was next in the team's rotation");
        assert!(w.considered.is_empty());
        let mut lead = lead_with(None);
        lead.assignment = None;
        assert_eq!(why(&lead), None);
    }

    #[test]
    fn the_qualified_line_compares_the_score_with_the_threshold() {
        let q = Qualification {
            version: 4,
            threshold: 72,
            score: 78,
        };
        assert_eq!(
            qualified_line(&q),
            "Qualified under definition v4 — score 78 ≥ 72"
        );
        let q = Qualification { score: 55, ..q };
        assert_eq!(
            qualified_line(&q),
            "Below the threshold of definition v4 — score 55 < 72"
        );
    }

    #[test]
    fn openers_come_from_the_definition_the_lead_qualified_under_only() {
        let lead = lead_with(None);
        let c = context(&lead, Some(definition(4)));
        assert_eq!(
            c.qualified_line.as_deref(),
            Some("Qualified under definition v4 — score 78 ≥ 72")
        );
        assert_eq!(
            c.openers,
            [Opener {
                signal: "How many reps?: More than 100".into(),
                line: "Open with the routing audit for large floors".into(),
            }]
        );
        // Another version's lines do not apply to this lead.
        let c = context(&lead, Some(definition(5)));
        assert!(c.definition.is_none() && c.openers.is_empty(), "{c:?}");
        assert!(c.qualified_line.is_some());
    }

    #[test]
    fn clock_times_are_hours_and_minutes() {
        assert_eq!(time_in(Timestamp(1_800_000_000_000), &chrono::Utc), "08:00");
    }
}
