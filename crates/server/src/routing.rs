//! The lead router: qualification, rule matching, weighted round robin,
//! queueing, SLA take-back and the consequences of a rep's decision.
//!
//! Every function here runs inside one write transaction ([`WriteTx`]), so a
//! lead's status, its assignment, the rep's counters, the lead's history and
//! the rep's feed entry change together or not at all.

use baton_protocol::{
    AccountMatch, Assignment, AssignmentOutcome, Availability, Change, ConsideredRep, Decision,
    DecisionKind, Disposition, EventType, FeedbackRequest, FeedbackResponse, IntakeOutcome,
    IntakeResponse, Lead, LeadEventKind, LeadId, LeadIntake, LeadStatus, Qualification,
    RejectReason, Rep, RepId, ReturnedToMarketing, RoutingExplanation, SkipReason, TakeAwayReason,
    Timestamp,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bookkeeping;
use crate::config::{Condition, Config};
use crate::error::{Error, Result};
use crate::outbound;
use crate::shifts::ShiftState;
use crate::store::{
    Candidate, LeadRow, NewAssignment, NewDecision, NewEscalation, ReadTx, StoredAnswer, WriteTx,
};

/// Rotation distance a rep of weight 1 moves per lead; weight w moves STRIDE / w.
pub const STRIDE: i64 = 1_000_000;

/// The hash that makes intake idempotent: equal payloads, equal hashes.
pub fn payload_hash(intake: &LeadIntake) -> Vec<u8> {
    let json = serde_json::to_vec(intake).expect("intake serialises");
    Sha256::digest(&json).to_vec()
}

/// The lead as clients see it: stored row plus its current assignment.
pub fn lead_view(tx: &dyn ReadTx, row: &LeadRow) -> Result<Lead> {
    let assignment = match row.current_assignment {
        Some(id) => tx.assignment(id)?,
        None => None,
    };
    let i = &row.intake;
    Ok(Lead {
        id: row.id,
        external_id: row.external_id.clone(),
        status: row.status,
        source: i.source.clone(),
        contact: i.contact.clone(),
        score: i.score.clone(),
        quiz: i.quiz.clone(),
        behaviours: i.behaviours.clone(),
        intent: i.intent.clone(),
        team: row.team.clone(),
        assignment,
        returned: row.returned.clone(),
        qualification: row.definition.map(|(version, threshold)| Qualification {
            version,
            threshold,
            score: i.score.value,
        }),
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}

/// Which team a lead goes to, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct TeamChoice {
    pub team: String,
    pub rule: String,
    pub explanation: String,
}

/// The value a rule's field names, as JSON.
fn field_value(cfg: &Config, lead: &Value, field: &str) -> Option<Value> {
    if field == "region" {
        let country = lead.pointer("/contact/country")?.as_str()?;
        return cfg.region_of(country).map(|r| Value::String(r.into()));
    }
    if let Some(question) = field.strip_prefix("quiz:") {
        return lead.get("quiz")?.as_array()?.iter().find_map(|qa| {
            (qa.get("question")?.as_str()?.eq_ignore_ascii_case(question))
                .then(|| qa.get("answer").cloned())
                .flatten()
        });
    }
    let pointer = format!("/{}", field.replace('.', "/"));
    lead.pointer(&pointer).filter(|v| !v.is_null()).cloned()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn condition_holds(cfg: &Config, lead: &Value, c: &Condition) -> bool {
    let Some(v) = field_value(cfg, lead, &c.field) else {
        return false;
    };
    let text = as_text(&v);
    if let Some(list) = &c.one_of
        && !list.iter().any(|x| x.eq_ignore_ascii_case(&text))
    {
        return false;
    }
    if let Some(list) = &c.not_in
        && list.iter().any(|x| x.eq_ignore_ascii_case(&text))
    {
        return false;
    }
    if c.min.is_some() || c.max.is_some() {
        let Some(n) = v.as_f64().or_else(|| text.trim().parse().ok()) else {
            return false;
        };
        if c.min.is_some_and(|m| n < m) || c.max.is_some_and(|m| n > m) {
            return false;
        }
    }
    true
}

fn describe(c: &Condition) -> String {
    let mut parts = Vec::new();
    if let Some(l) = &c.one_of {
        parts.push(format!("{} is {}", c.field, l.join(" or ")));
    }
    if let Some(l) = &c.not_in {
        parts.push(format!("{} is not {}", c.field, l.join(" or ")));
    }
    match (c.min, c.max) {
        (Some(a), Some(b)) => parts.push(format!("{} is {a}–{b}", c.field)),
        (Some(a), None) => parts.push(format!("{} ≥ {a}", c.field)),
        (None, Some(b)) => parts.push(format!("{} ≤ {b}", c.field)),
        (None, None) => {}
    }
    parts.join(", ")
}

/// The first rule whose conditions all hold, else the fallback team.
pub fn choose_team(cfg: &Config, intake: &LeadIntake) -> TeamChoice {
    let lead = serde_json::to_value(intake).expect("intake serialises");
    for rule in &cfg.rules {
        if rule.when.iter().all(|c| condition_holds(cfg, &lead, c)) {
            let why = rule.when.iter().map(describe).collect::<Vec<_>>();
            let explanation = if why.is_empty() {
                format!("rule {:?} (matches every lead)", rule.name)
            } else {
                format!("rule {:?}: {}", rule.name, why.join("; "))
            };
            return TeamChoice {
                team: rule.team.clone(),
                rule: rule.name.clone(),
                explanation,
            };
        }
    }
    TeamChoice {
        team: cfg.fallback_team().to_string(),
        rule: "fallback".into(),
        explanation: format!("no rule matched; fallback team {:?}", cfg.fallback_team()),
    }
}

/// Outcome of trying to place a qualified lead with a rep.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// Boxed: an assignment with its explanation is large, and most
    /// callers only ask which variant it is.
    Assigned(Box<Assignment>),
    Queued,
}

fn touch(lead: &mut LeadRow, now: Timestamp) {
    lead.version += 1;
    lead.updated_at = now;
}

/// Why `c` cannot take a lead now, if they cannot.
fn skip_reason(c: &Candidate, now: Timestamp) -> Option<SkipReason> {
    if let Some(passed) = c.passed {
        return Some(passed);
    }
    if !c.available {
        return Some(SkipReason::Away);
    }
    match crate::roster::state_at(c.rep.schedule.as_ref(), now) {
        ShiftState::Absent => return Some(SkipReason::Absent),
        ShiftState::OffShift => return Some(SkipReason::OffShift),
        ShiftState::OnShift => {}
    }
    (c.rep.open_leads >= c.rep.max_open).then_some(SkipReason::AtCap)
}

fn skip_words(r: SkipReason) -> &'static str {
    match r {
        SkipReason::Away => "away",
        SkipReason::OffShift => "off shift",
        SkipReason::Absent => "absent today",
        SkipReason::AtCap => "at their cap",
        SkipReason::RejectedBefore => "rejected it before",
        SkipReason::ExpiredBefore => "let it expire before",
        SkipReason::Unknown => "not eligible",
    }
}

/// The moment `millis` of the rep's time counts down from `from`: working
/// time only when the team's SLA counts business hours and the rep has hours.
fn deadline(
    business_hours: bool,
    schedule: Option<&std::sync::Arc<str>>,
    from: Timestamp,
    millis: i64,
) -> Timestamp {
    if business_hours && let Some(shifts) = schedule.and_then(crate::roster::shifts_of) {
        return shifts.add_working_time(from, millis);
    }
    from.plus_millis(millis)
}

/// Whether any rep of `team` could take a lead nobody passed on, now.
pub fn team_has_room(tx: &mut dyn WriteTx, team: &str, now: Timestamp) -> Result<bool> {
    Ok(tx
        .team_candidates(team, 0)?
        .iter()
        .any(|c| skip_reason(c, now).is_none()))
}

/// Offers a qualified lead to the next eligible rep of its team, or queues it.
pub fn route_lead(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    lead: &mut LeadRow,
    now: Timestamp,
) -> Result<Placement> {
    let choice = choose_team(cfg, &lead.intake);
    let team_cfg = cfg.team(&choice.team);
    let candidates = tx.team_candidates(&choice.team, lead.id)?;
    let skips: Vec<Option<SkipReason>> = candidates.iter().map(|c| skip_reason(c, now)).collect();
    // The same company as a lead a rep holds goes to that rep, if they can take it.
    let mut account_match = None;
    let mut chosen = None;
    if let Some(t) = team_cfg.filter(|t| t.account_matching)
        && let Some(key) = crate::accounts::account_key(&lead.intake.contact)
    {
        let since = now.plus_millis(-(i64::from(t.account_match_days) * 86_400_000));
        if let Some((holder, held_lead)) = tx.account_holder(&key, since)?
            && held_lead != lead.id
        {
            let at = candidates.iter().position(|c| c.rep.id == holder);
            let used = at.is_some_and(|i| skips[i].is_none());
            let rep_name = match at {
                Some(i) => candidates[i].rep.name.clone(),
                None => tx.rep(holder)?.map(|r| r.name).unwrap_or_default(),
            };
            if used {
                chosen = at;
            }
            account_match = Some(AccountMatch {
                account: key
                    .split_once(':')
                    .map_or(key.clone(), |(_, a)| a.to_string()),
                rep_id: holder,
                rep_name,
                lead_id: held_lead,
                used,
            });
        }
    }
    let rotation_pick = skips.iter().position(Option::is_none);
    let chosen = chosen.or(rotation_pick);
    // Every rep who could not take it, and the one who got it, in rotation
    // order (reps who could have but came later in the rotation are not
    // listed: they were not skipped).
    let considered: Vec<ConsideredRep> = candidates
        .iter()
        .zip(&skips)
        .enumerate()
        .filter(|(i, (_, s))| s.is_some() || Some(*i) == chosen)
        .map(|(_, (c, s))| ConsideredRep {
            rep_id: c.rep.id,
            rep_name: c.rep.name.clone(),
            skipped: *s,
        })
        .collect();
    let skipped_words: Vec<String> = considered
        .iter()
        .filter_map(|c| {
            c.skipped
                .map(|s| format!("{} {}", c.rep_name, skip_words(s)))
        })
        .collect();
    let Some(rep) = chosen.map(|i| &candidates[i].rep) else {
        if lead.status != LeadStatus::Queued || lead.team.as_deref() != Some(&choice.team) {
            lead.status = LeadStatus::Queued;
            lead.team = Some(choice.team.clone());
            lead.current_assignment = None;
            lead.returned = None;
            lead.queued_at.get_or_insert(now);
            touch(lead, now);
            bookkeeping::update_lead(tx, lead)?;
            let why = if skipped_words.is_empty() {
                format!("team {:?} has no active reps", choice.team)
            } else {
                format!(
                    "no rep of team {:?} can take it now: {}",
                    choice.team,
                    skipped_words.join(", ")
                )
            };
            tx.append_event(
                lead.id,
                now,
                LeadEventKind::Queued,
                None,
                &format!("{}; {why}: waiting in the queue", choice.explanation),
            )?;
        }
        return Ok(Placement::Queued);
    };
    let sla_seconds = team_cfg
        .map(|t| t.sla_seconds)
        .unwrap_or(crate::config::DEFAULT_SLA_SECONDS);
    let business_hours = team_cfg.is_some_and(|t| t.sla_business_hours);
    let mut why = match &account_match {
        Some(m) if m.used => format!(
            "{}; {} holds the account {} (lead {}), so it goes to them",
            choice.explanation, rep.name, m.account, m.lead_id
        ),
        _ => format!(
            "{}; {} was next in team {:?}'s rotation (weight {}, {} of {} open)",
            choice.explanation, rep.name, choice.team, rep.weight, rep.open_leads, rep.max_open
        ),
    };
    if !skipped_words.is_empty() {
        why.push_str(&format!(" — skipped: {}", skipped_words.join(", ")));
    }
    let sla_millis = sla_seconds as i64 * 1000;
    let sla_due_at = deadline(business_hours, rep.schedule.as_ref(), now, sla_millis);
    let remind_at = team_cfg
        .map(|t| t.remind_at_percent)
        .filter(|p| (1..100).contains(p))
        .map(|p| {
            deadline(
                business_hours,
                rep.schedule.as_ref(),
                now,
                sla_millis * i64::from(p) / 100,
            )
        });
    let explanation = RoutingExplanation {
        qualification: lead.definition.map(|(version, threshold)| Qualification {
            version,
            threshold,
            score: lead.intake.score.value,
        }),
        team: choice.team.clone(),
        rule: choice.rule.clone(),
        rule_detail: choice.explanation.clone(),
        account_match,
        considered,
    };
    let account_key = crate::accounts::account_key(&lead.intake.contact);
    let assignment_id = bookkeeping::insert_assignment(
        tx,
        &NewAssignment {
            lead_id: lead.id,
            rep_id: rep.id,
            rep_name: &rep.name,
            score: lead.intake.score.value,
            channel: &lead.intake.source.channel,
            campaign: lead.intake.source.campaign.as_deref(),
            team: &choice.team,
            rule: &choice.rule,
            why: &why,
            assigned_at: now,
            sla_due_at,
            explanation: &serde_json::to_string(&explanation)?,
            account_key: account_key.as_deref(),
            remind_at,
        },
    )?;
    tx.record_offer(rep.id, rep.rr_pass + STRIDE / i64::from(rep.weight.max(1)))?;
    lead.status = LeadStatus::Assigned;
    lead.team = Some(choice.team.clone());
    lead.current_assignment = Some(assignment_id);
    lead.queued_at = None;
    lead.returned = None;
    touch(lead, now);
    bookkeeping::update_lead(tx, lead)?;
    tx.append_event(lead.id, now, LeadEventKind::Assigned, Some(rep.id), &why)?;
    tx.sla_changed();
    let view = lead_view(tx, lead)?;
    let assignment = view
        .assignment
        .clone()
        .ok_or_else(|| Error::Internal("new assignment not readable".into()))?;
    tx.append_feed(
        rep.id,
        now,
        &Change::LeadAssigned {
            lead: Box::new(view),
        },
    )?;
    outbound::emit(
        tx,
        EventType::LeadRouted,
        lead,
        now,
        json!({ "rep": outbound::rep_json(rep.id, &rep.name), "assignment": outbound::assignment_json(&assignment) }),
    )?;
    Ok(Placement::Assigned(Box::new(assignment)))
}

/// The definition version and threshold in force (before any version was
/// published, which start-up does, the config's threshold).
pub fn rule_in_force(tx: &mut dyn WriteTx, cfg: &Config) -> Result<(Option<u32>, u32)> {
    Ok(match tx.qualification_rule()? {
        Some((version, threshold)) => (Some(version), threshold),
        None => (None, cfg.qualification_threshold),
    })
}

/// Routes a lead if its score qualifies under the definition in force;
/// otherwise it stays in nurture. The lead records the version either way.
fn qualify_and_route(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    lead: &mut LeadRow,
    rule: (Option<u32>, u32),
    now: Timestamp,
) -> Result<()> {
    let score = lead.intake.score.value;
    let (version, threshold) = rule;
    let under = version
        .map(|v| format!(" of definition v{v}"))
        .unwrap_or_default();
    if score >= threshold {
        outbound::emit(
            tx,
            EventType::LeadQualified,
            lead,
            now,
            json!({ "threshold": threshold, "definition_version": version }),
        )?;
        route_lead(tx, cfg, lead, now)?;
    } else {
        tx.append_event(
            lead.id,
            now,
            LeadEventKind::Nurtured,
            None,
            &format!(
                "score {score} is below the qualification threshold {threshold}{under}: stays with marketing"
            ),
        )?;
    }
    Ok(())
}

/// Test builds only: an intake whose `external_id` is `fault:NAME` makes
/// storage misbehave on purpose when `BATON_TEST_FAULTS` is set (see
/// [`WriteTx::inject_fault`]); `fault:panic` panics inside the write job.
#[cfg(debug_assertions)]
fn injected_fault(tx: &mut dyn WriteTx, external_id: &str) -> Result<()> {
    if std::env::var_os("BATON_TEST_FAULTS").is_none() {
        return Ok(());
    }
    match external_id.strip_prefix("fault:") {
        Some("panic") => panic!("injected fault: a write job panics"),
        Some(fault) => tx.inject_fault(fault),
        None => Ok(()),
    }
}

/// Intake of one pushed lead from an intake key issued for `source`: create,
/// update or recognise a replay. A key may write only its own source's leads.
pub fn intake(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    intake: LeadIntake,
    source: &str,
    now: Timestamp,
) -> Result<IntakeResponse> {
    intake_with(tx, cfg, intake, source, now, true)
}

/// As [`intake`]; with `route` false (a CSV import of history) the lead is
/// stored and updated but never qualified, queued or offered.
pub fn intake_with(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    intake: LeadIntake,
    source: &str,
    now: Timestamp,
    route: bool,
) -> Result<IntakeResponse> {
    #[cfg(debug_assertions)]
    injected_fault(tx, &intake.external_id)?;
    let hash = payload_hash(&intake);
    let rule = rule_in_force(tx, cfg)?;
    let definition = rule.0.map(|v| (v, rule.1));
    let existing = tx.lead_by_external_id(&intake.external_id)?;
    if let Some(owner) = existing.as_ref().and_then(|l| l.intake_source.as_deref())
        && owner != source
    {
        return Err(Error::ExternalIdTaken(format!(
            "external_id {:?} belongs to a lead from another source; an intake key may create and update only its own source's leads (use ids unique to your source, e.g. prefixed with its name)",
            intake.external_id
        )));
    }
    let (outcome, row) = match existing {
        None => {
            let mut row = LeadRow {
                id: 0,
                external_id: intake.external_id.clone(),
                status: LeadStatus::Nurture,
                intake,
                payload_hash: hash,
                team: None,
                current_assignment: None,
                queued_at: None,
                returned: None,
                version: 1,
                created_at: now,
                updated_at: now,
                intake_source: Some(source.to_string()),
                definition: if route { definition } else { None },
            };
            row.id = bookkeeping::insert_lead(tx, &row)?;
            let how = if route {
                "received"
            } else {
                "imported (not routed)"
            };
            tx.append_event(
                row.id,
                now,
                LeadEventKind::Received,
                None,
                &format!(
                    "{how} from {} with score {}",
                    row.intake.source.channel, row.intake.score.value
                ),
            )?;
            if route {
                qualify_and_route(tx, cfg, &mut row, rule, now)?;
            }
            (IntakeOutcome::Created, row)
        }
        Some(mut row) if row.payload_hash == hash => {
            if row.intake_source.is_none() {
                // A lead from before sources were recorded joins this key's source.
                row.intake_source = Some(source.to_string());
                bookkeeping::update_lead(tx, &row)?;
            }
            (IntakeOutcome::Unchanged, row)
        }
        Some(mut row) => {
            let old_score = row.intake.score.value;
            row.intake = intake;
            row.payload_hash = hash;
            // A lead from before sources were recorded joins the first source to update it.
            row.intake_source = Some(source.to_string());
            // A lead not yet with sales is judged again, under the definition in force now.
            if route && matches!(row.status, LeadStatus::Nurture | LeadStatus::Queued) {
                row.definition = definition;
            }
            touch(&mut row, now);
            bookkeeping::update_lead(tx, &row)?;
            tx.append_event(
                row.id,
                now,
                LeadEventKind::Updated,
                None,
                &format!(
                    "marketing pushed an update (score {old_score} → {})",
                    row.intake.score.value
                ),
            )?;
            // However often a lead is re-pushed, its history keeps a bounded
            // number of these entries (the newest).
            tx.trim_events(
                row.id,
                LeadEventKind::Updated,
                cfg.limits.update_events_per_lead,
            )?;
            match row.status {
                LeadStatus::Assigned | LeadStatus::Accepted => {
                    if let Some(a) = row
                        .current_assignment
                        .map(|id| tx.assignment(id))
                        .transpose()?
                        .flatten()
                    {
                        let view = lead_view(tx, &row)?;
                        // The new entry carries the whole lead, so the older
                        // updates of it are redundant: a client syncing later
                        // fetches one copy, however often marketing re-pushed.
                        tx.delete_feed_updates(a.rep_id, row.id)?;
                        tx.append_feed(
                            a.rep_id,
                            now,
                            &Change::LeadUpdated {
                                lead: Box::new(view),
                            },
                        )?;
                    }
                }
                // History imported without routing stays where it is.
                LeadStatus::Nurture | LeadStatus::Queued if !route => {}
                LeadStatus::Nurture => qualify_and_route(tx, cfg, &mut row, rule, now)?,
                LeadStatus::Queued if row.intake.score.value < rule.1 => {
                    // Not yet with a rep, and no longer qualified: back to marketing.
                    row.status = LeadStatus::Nurture;
                    row.queued_at = None;
                    touch(&mut row, now);
                    bookkeeping::update_lead(tx, &row)?;
                    tx.append_event(
                        row.id,
                        now,
                        LeadEventKind::Nurtured,
                        None,
                        &format!(
                            "score {} fell below the qualification threshold {}: left the queue, back with marketing",
                            row.intake.score.value, rule.1
                        ),
                    )?;
                    outbound::emit(
                        tx,
                        EventType::LeadReturnedToNurture,
                        &row,
                        now,
                        json!({ "why": "score_below_threshold", "threshold": rule.1 }),
                    )?;
                }
                // An offered or accepted lead stays with its rep whatever its new score.
                LeadStatus::Queued | LeadStatus::Unknown => {}
            }
            (IntakeOutcome::Updated, row)
        }
    };
    Ok(IntakeResponse {
        outcome,
        lead: lead_view(tx, &row)?,
    })
}

/// Offers queued leads to `rep`, who may now have room (a decision, an SLA
/// take-back, back from away, newly added): only the leads of their team they
/// never passed on, longest-waiting first, and no more than their free
/// places. The other queued leads cannot have become placeable, so they are
/// not looked at: the cost follows what can move, not the queue's length.
pub fn offer_queued_to(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    rep_id: RepId,
    now: Timestamp,
) -> Result<u32> {
    let mut placed = 0;
    loop {
        let Some(rep) = tx.rep(rep_id)? else {
            return Ok(placed);
        };
        let free = rep.max_open.saturating_sub(rep.open_leads);
        if rep.availability != Availability::Available || !rep.active || !rep.on_shift || free == 0
        {
            return Ok(placed);
        }
        let ids = tx.queued_leads_open_to(rep_id, &rep.team, free.min(100))?;
        if ids.is_empty() {
            return Ok(placed);
        }
        let mut placed_now = 0;
        for id in ids {
            let Some(mut lead) = tx.lead(id)? else {
                continue;
            };
            if let Placement::Assigned(_) = route_lead(tx, cfg, &mut lead, now)? {
                placed_now += 1;
            }
        }
        if placed_now == 0 {
            return Ok(placed);
        }
        placed += placed_now;
    }
}

/// Offers queued leads of `team` to reps with room, longest-waiting first.
/// Leads no rep of the team may take (all passed on them) are stepped over,
/// so they never block the leads behind them. Scans the whole queue: for
/// start-up; later changes use [`offer_queued_to`].
pub fn drain_queue(tx: &mut dyn WriteTx, cfg: &Config, team: &str, now: Timestamp) -> Result<u32> {
    let mut placed = 0;
    let mut after = None;
    while team_has_room(tx, team, now)? {
        let page = tx.queued_lead_ids(team, after, 200)?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(*last);
        for (_, id) in page {
            let Some(mut lead) = tx.lead(id)? else {
                continue;
            };
            if let Placement::Assigned(_) = route_lead(tx, cfg, &mut lead, now)? {
                placed += 1;
                if !team_has_room(tx, team, now)? {
                    return Ok(placed);
                }
            }
        }
    }
    Ok(placed)
}

/// Drains every team's queue; for reps added or changed outside this process.
pub fn drain_all_queues(tx: &mut dyn WriteTx, cfg: &Config, now: Timestamp) -> Result<u32> {
    let mut placed = 0;
    for team in tx.teams_with_queue()? {
        placed += drain_queue(tx, cfg, &team, now)?;
    }
    Ok(placed)
}

/// Takes back every offer whose SLA ran out and routes each lead on.
pub fn expire_overdue(tx: &mut dyn WriteTx, cfg: &Config, now: Timestamp) -> Result<u32> {
    let due = tx.due_assignments(now, 500)?;
    let mut freed = Vec::new();
    for a in &due {
        bookkeeping::end_assignment(tx, a.id, AssignmentOutcome::SlaExpired, now)?;
        tx.release_offer(a.rep_id)?;
        let sla = cfg.team(&a.team).map(|t| t.sla_seconds).unwrap_or(0);
        tx.append_event(
            a.lead_id,
            now,
            LeadEventKind::SlaExpired,
            Some(a.rep_id),
            &format!(
                "{} did not accept within the {} SLA; taken back to route to the next rep",
                a.rep_name,
                human_duration(sla)
            ),
        )?;
        let Some(mut lead) = tx.lead(a.lead_id)? else {
            continue;
        };
        tx.append_feed(
            a.rep_id,
            now,
            &Change::LeadTakenAway {
                lead_id: lead.id,
                external_id: lead.external_id.clone(),
                assignment_id: a.id,
                reason: TakeAwayReason::SlaExpired,
            },
        )?;
        lead.current_assignment = None;
        let breached = json!({
            "rep": outbound::rep_json(a.rep_id, &a.rep_name),
            "assignment": outbound::assignment_json(a),
            "sla_seconds": sla,
        });
        outbound::emit(tx, EventType::LeadSlaBreached, &lead, now, breached)?;
        // The team's managers are told (their apps raise a notification).
        tx.insert_escalation(&NewEscalation {
            lead_id: lead.id,
            assignment_id: a.id,
            rep_id: a.rep_id,
            team: &a.team,
            lead_name: &lead.intake.contact.name,
            at: now,
            sla_due_at: a.sla_due_at,
        })?;
        tx.append_event(
            lead.id,
            now,
            LeadEventKind::Escalated,
            Some(a.rep_id),
            &format!("team {:?}'s managers were told of the missed SLA", a.team),
        )?;
        if let Placement::Assigned(to) = route_lead(tx, cfg, &mut lead, now)? {
            let moved = json!({
                "from_rep": outbound::rep_json(a.rep_id, &a.rep_name),
                "rep": outbound::rep_json(to.rep_id, &to.rep_name),
                "assignment": outbound::assignment_json(&to),
                "why": "sla_breached",
            });
            outbound::emit(tx, EventType::LeadReassigned, &lead, now, moved)?;
        }
        if !freed.contains(&a.rep_id) {
            freed.push(a.rep_id);
        }
    }
    // Each take-back freed a place with its rep, for leads they have not passed on.
    for rep in freed {
        offer_queued_to(tx, cfg, rep, now)?;
    }
    Ok(due.len() as u32)
}

/// Reminds reps of offers left undecided past their team's share of the
/// SLA: a feed entry their app notifies on again.
pub fn send_reminders(tx: &mut dyn WriteTx, now: Timestamp) -> Result<u32> {
    let due = tx.due_reminders(now, 500)?;
    for a in &due {
        tx.clear_reminder(a.id)?;
        tx.append_feed(
            a.rep_id,
            now,
            &Change::LeadReminder {
                lead_id: a.lead_id,
                assignment_id: a.id,
                sla_due_at: a.sla_due_at,
            },
        )?;
        tx.append_event(
            a.lead_id,
            now,
            LeadEventKind::Reminded,
            Some(a.rep_id),
            &format!(
                "{} was reminded: undecided, SLA due at {}",
                a.rep_name, a.sla_due_at
            ),
        )?;
    }
    Ok(due.len() as u32)
}

/// Takes back a rep's undecided offers (deactivated, or moved to another
/// team) and routes each lead on at once.
pub fn withdraw_offers(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    rep_id: RepId,
    why: &str,
    now: Timestamp,
) -> Result<u32> {
    let offers = tx.pending_offers_of(rep_id)?;
    for a in &offers {
        bookkeeping::end_assignment(tx, a.id, AssignmentOutcome::Withdrawn, now)?;
        tx.release_offer(rep_id)?;
        tx.append_event(
            a.lead_id,
            now,
            LeadEventKind::Queued,
            Some(rep_id),
            &format!("taken back from {}: {why}; routed on", a.rep_name),
        )?;
        let Some(mut lead) = tx.lead(a.lead_id)? else {
            continue;
        };
        tx.append_feed(
            rep_id,
            now,
            &Change::LeadTakenAway {
                lead_id: lead.id,
                external_id: lead.external_id.clone(),
                assignment_id: a.id,
                reason: TakeAwayReason::RepChanged,
            },
        )?;
        lead.current_assignment = None;
        if let Placement::Assigned(to) = route_lead(tx, cfg, &mut lead, now)? {
            let moved = json!({
                "from_rep": outbound::rep_json(rep_id, &a.rep_name),
                "rep": outbound::rep_json(to.rep_id, &to.rep_name),
                "assignment": outbound::assignment_json(&to),
                "why": "rep_changed",
            });
            outbound::emit(tx, EventType::LeadReassigned, &lead, now, moved)?;
        }
    }
    Ok(offers.len() as u32)
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Checks a decision against the server's reason list (the shared rules in
/// `FeedbackRequest::check`) and the server's text rules.
pub fn validate_feedback(reasons: &[RejectReason], req: &FeedbackRequest) -> Result<()> {
    if let Some(note) = &req.note {
        crate::validate::text("note", note, 0, baton_protocol::MAX_NOTE_CHARS)?;
    }
    req.check(Some(reasons))
        .map_err(|p| Error::field(p.field, p.message))
}

/// The rejection reasons of the definition in force (the config's before
/// any version was published).
pub fn reasons_in_force(tx: &dyn ReadTx, cfg: &Config) -> Result<Vec<RejectReason>> {
    Ok(match tx.definition(None)? {
        Some(d) => d.reasons,
        None => cfg.reasons.iter().map(RejectReason::from).collect(),
    })
}

/// A rep's decision on a lead, idempotent on (rep, key): the first answer,
/// success or 409, is stored with the decision and replayed on retries.
pub fn record_feedback(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    rep: RepId,
    lead_id: LeadId,
    req: &FeedbackRequest,
    idempotency_key: &str,
    now: Timestamp,
) -> Result<StoredAnswer> {
    let request_hash = {
        let mut h = Sha256::new();
        h.update(lead_id.to_le_bytes());
        h.update(serde_json::to_vec(req)?);
        h.finalize().to_vec()
    };
    if let Some(previous) = tx.idempotent_answer(rep, idempotency_key)? {
        if previous.request_hash != request_hash {
            return Err(Error::IdempotencyKeyReused);
        }
        return Ok(previous);
    }
    let reasons = reasons_in_force(tx, cfg)?;
    validate_feedback(&reasons, req)?;
    let answer = match decide(tx, cfg, &reasons, rep, lead_id, req, now) {
        Ok(response) => StoredAnswer {
            request_hash,
            status: 200,
            body: serde_json::to_string(&response)?,
        },
        // A refusal is not stored: it changed nothing, and asking again gives
        // the same refusal (a lead this rep decided, or let expire, is never
        // offered to them again). Storing it would let a rep grow the
        // database by sending fresh keys at a decided lead.
        Err(e @ Error::LeadNotYours(_)) => {
            return Ok(StoredAnswer {
                request_hash,
                status: 409,
                body: serde_json::to_string(&e.body())?,
            });
        }
        Err(e) => return Err(e),
    };
    tx.store_answer(rep, idempotency_key, &answer, now)?;
    Ok(answer)
}

fn decide(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    reasons: &[RejectReason],
    rep: RepId,
    lead_id: LeadId,
    req: &FeedbackRequest,
    now: Timestamp,
) -> Result<FeedbackResponse> {
    let not_found = || Error::NotFound(format!("lead {lead_id} is not one of your leads"));
    let mut lead = tx.lead(lead_id)?.ok_or_else(not_found)?;
    let history = tx.assignments_of_lead(lead_id)?;
    let mine: Vec<&Assignment> = history.iter().filter(|a| a.rep_id == rep).collect();
    let Some(last) = mine.last() else {
        // Never offered to this rep: do not reveal that it exists.
        return Err(not_found());
    };
    let Some(offer) = mine
        .iter()
        .find(|a| a.outcome == AssignmentOutcome::Pending)
        .copied()
    else {
        let why = match last.outcome {
            AssignmentOutcome::Accepted => "you already accepted it".to_string(),
            AssignmentOutcome::Rejected => "you already rejected it".to_string(),
            AssignmentOutcome::SlaExpired => format!(
                "it was taken back at {} because it was not accepted within the team's SLA, and routed to another rep",
                last.ended_at.unwrap_or(now)
            ),
            _ => "it is not awaiting your decision".to_string(),
        };
        return Err(Error::LeadNotYours(format!(
            "lead {lead_id} is no longer yours to decide: {why}; refresh your inbox"
        )));
    };
    let outcome = match req.decision {
        DecisionKind::Accept => AssignmentOutcome::Accepted,
        DecisionKind::Reject => AssignmentOutcome::Rejected,
    };
    bookkeeping::end_assignment(tx, offer.id, outcome, now)?;
    tx.release_offer(rep)?;
    let new_decision = NewDecision {
        lead_id,
        assignment_id: offer.id,
        rep_id: rep,
        decision: req.decision,
        reason: req.reason.as_deref(),
        note: req.note.as_deref(),
        decided_at: now,
    };
    let decision_id = bookkeeping::insert_decision(tx, &new_decision)?;
    let decision = Decision {
        id: decision_id,
        lead_id,
        assignment_id: offer.id,
        rep_id: rep,
        decision: req.decision,
        reason: req.reason.clone(),
        note: req.note.clone(),
        decided_at: now,
    };
    let note_suffix = req
        .note
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| format!(" — {n:?}"))
        .unwrap_or_default();
    let disposition = match req.decision {
        DecisionKind::Accept => {
            lead.status = LeadStatus::Accepted;
            touch(&mut lead, now);
            bookkeeping::update_lead(tx, &lead)?;
            tx.append_event(
                lead_id,
                now,
                LeadEventKind::Accepted,
                Some(rep),
                &format!("accepted by {}{note_suffix}", offer.rep_name),
            )?;
            let accepted = json!({
                "rep": outbound::rep_json(rep, &offer.rep_name),
                "assignment": outbound::assignment_json(offer),
                "decided_at": now,
                "note": req.note,
            });
            outbound::emit(tx, EventType::LeadAccepted, &lead, now, accepted)?;
            Disposition::Accepted
        }
        DecisionKind::Reject => {
            let code = req.reason.as_deref().unwrap_or("other");
            let reason = reasons.iter().find(|r| r.code == code);
            let label = reason.map(|r| r.label.as_str()).unwrap_or(code);
            tx.append_event(
                lead_id,
                now,
                LeadEventKind::Rejected,
                Some(rep),
                &format!("rejected by {}: {label}{note_suffix}", offer.rep_name),
            )?;
            let rejected = json!({
                "rep": outbound::rep_json(rep, &offer.rep_name),
                "assignment": outbound::assignment_json(offer),
                "decided_at": now,
                "reason": { "code": code, "label": label },
                "note": req.note,
            });
            outbound::emit(tx, EventType::LeadRejected, &lead, now, rejected)?;
            if reason.is_some_and(|r| r.routes_on) {
                lead.current_assignment = None;
                match route_lead(tx, cfg, &mut lead, now)? {
                    Placement::Assigned(to) => {
                        let moved = json!({
                            "from_rep": outbound::rep_json(rep, &offer.rep_name),
                            "rep": outbound::rep_json(to.rep_id, &to.rep_name),
                            "assignment": outbound::assignment_json(&to),
                            "why": "rejected",
                            "reason": { "code": code, "label": label },
                        });
                        outbound::emit(tx, EventType::LeadReassigned, &lead, now, moved)?;
                        Disposition::RoutedOn
                    }
                    Placement::Queued => Disposition::Queued,
                }
            } else {
                lead.status = LeadStatus::Nurture;
                lead.current_assignment = None;
                lead.returned = Some(ReturnedToMarketing {
                    reason: code.to_string(),
                    note: req.note.clone(),
                    by_rep: rep,
                    at: now,
                });
                touch(&mut lead, now);
                bookkeeping::update_lead(tx, &lead)?;
                tx.append_event(
                    lead_id,
                    now,
                    LeadEventKind::ReturnedToMarketing,
                    Some(rep),
                    &format!("returned to marketing: {label}"),
                )?;
                let returned = json!({
                    "why": "rejected",
                    "rep": outbound::rep_json(rep, &offer.rep_name),
                    "reason": { "code": code, "label": label },
                    "note": req.note,
                });
                outbound::emit(tx, EventType::LeadReturnedToNurture, &lead, now, returned)?;
                Disposition::ReturnedToMarketing
            }
        }
    };
    tx.append_feed(
        rep,
        now,
        &Change::DecisionRecorded {
            decision: decision.clone(),
            disposition,
        },
    )?;
    // The decision freed a place in this rep's cap.
    offer_queued_to(tx, cfg, rep, now)?;
    Ok(FeedbackResponse {
        decision,
        disposition,
    })
}

/// A rep sets themself available or away.
pub fn set_availability(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    rep_id: RepId,
    availability: Availability,
    now: Timestamp,
) -> Result<Rep> {
    let rep = tx
        .rep(rep_id)?
        .ok_or_else(|| Error::NotFound(format!("rep {rep_id} does not exist")))?;
    if rep.availability != availability {
        tx.set_rep_availability(rep_id, availability)?;
        if availability == Availability::Available {
            tx.catch_up_rotation(rep_id, &rep.team)?;
            offer_queued_to(tx, cfg, rep_id, now)?;
        }
    }
    tx.rep(rep_id)?
        .ok_or_else(|| Error::NotFound(format!("rep {rep_id} does not exist")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_protocol::{Contact, Score, Source};

    fn lead(country: &str, size: u32, channel: &str) -> LeadIntake {
        LeadIntake {
            external_id: "x".into(),
            source: Source {
                channel: channel.into(),
                ..Default::default()
            },
            contact: Contact {
                name: "N".into(),
                email: Some("n@x.test".into()),
                country: Some(country.into()),
                company_size: Some(size),
                ..Default::default()
            },
            score: Score {
                value: 80,
                breakdown: vec![],
            },
            quiz: vec![baton_protocol::QuizAnswer {
                question: "Which CRM do you use?".into(),
                answer: "Salesforce".into(),
                points: None,
            }],
            behaviours: vec![],
            intent: Default::default(),
        }
    }

    fn cfg() -> Config {
        Config::from_toml(
            r#"
fallback_team = "smb"
[regions]
emea = ["DE", "FR"]
[[teams]]
name = "smb"
[[teams]]
name = "enterprise"
[[teams]]
name = "emea"
[[teams]]
name = "partners"
[[rules]]
name = "partner-channel"
team = "partners"
when = [{ field = "source.channel", in = ["partner"] }]
[[rules]]
name = "big"
team = "enterprise"
when = [{ field = "contact.company_size", min = 1000 }, { field = "quiz:which crm do you use?", in = ["salesforce"] }]
[[rules]]
name = "emea"
team = "emea"
when = [{ field = "region", in = ["emea"] }]
"#,
        )
        .unwrap()
    }

    #[test]
    fn first_matching_rule_picks_the_team_and_says_why() {
        let c = cfg();
        let big = choose_team(&c, &lead("DE", 5000, "webinar"));
        assert_eq!(big.team, "enterprise");
        assert!(
            big.explanation.contains("contact.company_size ≥ 1000"),
            "{}",
            big.explanation
        );
        assert_eq!(choose_team(&c, &lead("de", 50, "webinar")).team, "emea");
        assert_eq!(
            choose_team(&c, &lead("DE", 5000, "partner")).team,
            "partners"
        );
        let none = choose_team(&c, &lead("US", 50, "webinar"));
        assert_eq!(
            (none.team.as_str(), none.rule.as_str()),
            ("smb", "fallback")
        );
    }

    #[test]
    fn a_missing_field_satisfies_no_condition() {
        let c = cfg();
        let mut l = lead("DE", 5000, "webinar");
        l.contact.company_size = None;
        assert_eq!(choose_team(&c, &l).team, "emea");
        l.contact.country = None;
        assert_eq!(choose_team(&c, &l).team, "smb");
    }

    #[test]
    fn payload_hash_changes_with_content_only() {
        let a = lead("DE", 10, "webinar");
        let mut b = a.clone();
        assert_eq!(payload_hash(&a), payload_hash(&b));
        b.score.value = 81;
        assert_ne!(payload_hash(&a), payload_hash(&b));
    }

    #[test]
    fn other_needs_a_note_and_accept_takes_no_reason() {
        let c: Vec<RejectReason> = cfg().reasons.iter().map(RejectReason::from).collect();
        let req = |d, r: Option<&str>, n: Option<&str>| FeedbackRequest {
            decision: d,
            reason: r.map(Into::into),
            note: n.map(Into::into),
        };
        assert!(validate_feedback(&c, &req(DecisionKind::Accept, None, Some("called"))).is_ok());
        assert!(
            validate_feedback(&c, &req(DecisionKind::Accept, Some("no_budget"), None)).is_err()
        );
        assert!(validate_feedback(&c, &req(DecisionKind::Reject, None, None)).is_err());
        assert!(validate_feedback(&c, &req(DecisionKind::Reject, Some("nope"), None)).is_err());
        let e = validate_feedback(&c, &req(DecisionKind::Reject, Some("other"), Some("  ")))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidField { ref field, .. } if field == "note"));
        assert!(
            validate_feedback(&c, &req(DecisionKind::Reject, Some("other"), Some("dup"))).is_ok()
        );
    }
}
