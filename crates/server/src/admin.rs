//! Team administration and the qualification definition: what managers
//! change from the app (and operators from the command line). Every change
//! is checked, audited, and reaches the reps it concerns through their feed
//! in the same transaction.

use baton_protocol::{
    Change, Criterion, CriterionKind, Definition, DefinitionDraft, NewRep as NewRepRequest,
    RejectReason, Rep, RepId, RepUpdate, Role, Timestamp, WorkSchedule,
};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::routing;
use crate::store::{NewRep, RepRecord, WriteTx};

/// At most this many criteria in a definition, and reasons.
pub const MAX_CRITERIA: usize = 200;
pub const MAX_REASONS: usize = 50;

/// Checks a schedule; the error names the field and says what to do.
pub fn check_schedule(schedule: &WorkSchedule) -> Result<()> {
    crate::shifts::Shifts::parse(schedule)
        .map(|_| ())
        .map_err(|p| Error::field(p.field, p.message))
}

fn schedule_json(schedule: Option<&WorkSchedule>) -> Result<Option<String>> {
    schedule
        .map(|s| check_schedule(s).and_then(|_| Ok(serde_json::to_string(s)?)))
        .transpose()
}

fn check_team(cfg: &Config, team: &str) -> Result<()> {
    if cfg.team(team).is_some() {
        return Ok(());
    }
    let known: Vec<_> = cfg.teams.iter().map(|t| t.name.as_str()).collect();
    Err(Error::field(
        "team",
        format!(
            "team {team:?} is not in the config; known teams: {}",
            known.join(", ")
        ),
    ))
}

fn check_weight_and_cap(weight: u32, max_open: u32) -> Result<()> {
    if !(1..=1000).contains(&weight) {
        return Err(Error::field("weight", "must be from 1 to 1000"));
    }
    if !(1..=100_000).contains(&max_open) {
        return Err(Error::field("max_open", "must be from 1 to 100000"));
    }
    Ok(())
}

/// Checks a new rep before any write.
pub fn check_new_rep(cfg: &Config, r: &NewRepRequest) -> Result<()> {
    crate::validate::text("name", &r.name, 1, 200)?;
    crate::validate::email("email", &r.email)?;
    check_weight_and_cap(r.weight.unwrap_or(1), r.max_open.unwrap_or(20))?;
    check_team(cfg, &r.team)?;
    if let Some(s) = &r.schedule {
        check_schedule(s)?;
    }
    Ok(())
}

/// Adds a rep with a token (its hash given); returns the rep.
pub fn create_rep(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    actor: &str,
    r: &NewRepRequest,
    token_hash: &[u8],
    now: Timestamp,
) -> Result<Rep> {
    check_new_rep(cfg, r)?;
    let schedule = schedule_json(r.schedule.as_ref())?;
    let rr_pass = tx.team_min_pass(&r.team)?.unwrap_or(0);
    let id = tx.insert_rep(&NewRep {
        name: &r.name,
        email: &r.email,
        team: &r.team,
        weight: r.weight.unwrap_or(1),
        max_open: r.max_open.unwrap_or(20),
        rr_pass,
        created_at: now,
        schedule: schedule.as_deref(),
    })?;
    tx.insert_token(token_hash, Role::Rep, Some(id), &r.email, None, now)?;
    tx.append_audit(
        now,
        actor,
        "rep.created",
        &format!("rep {id}"),
        &format!(
            "{} <{}> joined team {:?} (weight {}, cap {})",
            r.name,
            r.email,
            r.team,
            r.weight.unwrap_or(1),
            r.max_open.unwrap_or(20)
        ),
    )?;
    tx.rep(id)?
        .ok_or_else(|| Error::Internal("new rep not readable".into()))
}

/// Applies a change to a rep's record (team, weight, cap, activity, and
/// with `schedule` Some, their hours and absences): audited, told to the
/// rep's app, and routed at once (a deactivated or moved rep's undecided
/// leads go on; a rep with new room is offered queued leads).
pub fn update_rep(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    actor: &str,
    id: RepId,
    change: &RepUpdate,
    schedule: Option<Option<&WorkSchedule>>,
    now: Timestamp,
) -> Result<Rep> {
    let before = tx
        .rep(id)?
        .ok_or_else(|| Error::NotFound(format!("rep {id} does not exist")))?;
    let team = change.team.clone().unwrap_or_else(|| before.team.clone());
    if change.team.is_some() {
        check_team(cfg, &team)?;
    }
    let weight = change.weight.unwrap_or(before.weight);
    let max_open = change.max_open.unwrap_or(before.max_open);
    check_weight_and_cap(weight, max_open)?;
    let active = change.active.unwrap_or(before.active);
    let new_schedule = match schedule {
        Some(s) => s.cloned(),
        None => before.schedule.clone(),
    };
    let schedule_text = schedule_json(new_schedule.as_ref())?;
    tx.update_rep(&RepRecord {
        id,
        team: &team,
        weight,
        max_open,
        schedule: schedule_text.as_deref(),
        active,
    })?;
    let mut what = Vec::new();
    if team != before.team {
        what.push(format!("team {:?} → {:?}", before.team, team));
    }
    if weight != before.weight {
        what.push(format!("weight {} → {weight}", before.weight));
    }
    if max_open != before.max_open {
        what.push(format!("cap {} → {max_open}", before.max_open));
    }
    if active != before.active {
        what.push(if active { "reactivated" } else { "deactivated" }.to_string());
    }
    if new_schedule != before.schedule {
        what.push(describe_schedule(new_schedule.as_ref()));
    }
    if what.is_empty() {
        return Ok(before);
    }
    let action = if schedule.is_some() && what.len() == 1 && new_schedule != before.schedule {
        "rep.schedule"
    } else {
        "rep.updated"
    };
    tx.append_audit(
        now,
        actor,
        action,
        &format!("rep {id} ({})", before.email),
        &what.join("; "),
    )?;
    if !active && before.active {
        tx.revoke_rep_tokens(id, now)?;
        routing::withdraw_offers(tx, cfg, id, "the rep was deactivated", now)?;
    } else if team != before.team {
        routing::withdraw_offers(tx, cfg, id, "the rep moved to another team", now)?;
    }
    if team != before.team || (active && !before.active) {
        tx.catch_up_rotation(id, &team)?;
    }
    let rep = tx
        .rep(id)?
        .ok_or_else(|| Error::Internal(format!("rep {id} not readable")))?;
    tx.append_feed(
        id,
        now,
        &Change::RepChanged {
            rep: Box::new(rep.clone()),
        },
    )?;
    if rep.active {
        routing::offer_queued_to(tx, cfg, id, now)?;
    }
    // The sweeper re-reads when shifts next start or end.
    tx.sla_changed();
    Ok(rep)
}

fn describe_schedule(s: Option<&WorkSchedule>) -> String {
    match s {
        None => "hours cleared (always on shift)".into(),
        Some(s) => format!(
            "hours set in {} ({} stretches a week, {} absences)",
            s.time_zone,
            s.hours.len(),
            s.absences.len()
        ),
    }
}

/// Checks a proposed definition; errors name the field.
pub fn check_draft(d: &DefinitionDraft) -> Result<()> {
    if d.threshold > 100 {
        return Err(Error::field("threshold", "must be a score from 0 to 100"));
    }
    crate::validate::text("note", &d.note, 1, 2000)?;
    if d.criteria.len() > MAX_CRITERIA {
        return Err(Error::field(
            "criteria",
            format!("at most {MAX_CRITERIA} criteria"),
        ));
    }
    for (i, c) in d.criteria.iter().enumerate() {
        let f = |name: &str| format!("criteria[{i}].{name}");
        if c.kind == CriterionKind::Unknown {
            return Err(Error::field(
                f("kind"),
                "must be score_item, quiz_answer or intent",
            ));
        }
        crate::validate::text(&f("key"), &c.key, 1, 200)?;
        if c.kind == CriterionKind::Intent
            && !["need", "timeline", "budget"].contains(&c.key.trim().to_ascii_lowercase().as_str())
        {
            return Err(Error::field(
                f("key"),
                "an intent criterion's key is need, timeline or budget",
            ));
        }
        if let Some(v) = &c.value {
            crate::validate::text(&f("value"), v, 1, 200)?;
        }
        crate::validate::text(&f("meaning"), &c.meaning, 1, 1000)?;
        if let Some(o) = &c.opener {
            crate::validate::text(&f("opener"), o, 0, 300)?;
        }
        if c.points.is_some_and(|p| !(-100..=100).contains(&p)) {
            return Err(Error::field(f("points"), "must be from -100 to 100"));
        }
    }
    if d.reasons.is_empty() || d.reasons.len() > MAX_REASONS {
        return Err(Error::field(
            "reasons",
            format!("list 1 to {MAX_REASONS} rejection reasons"),
        ));
    }
    let mut codes = std::collections::HashSet::new();
    for (i, r) in d.reasons.iter().enumerate() {
        let code_ok = !r.code.is_empty()
            && r.code.len() <= 64
            && r.code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok {
            return Err(Error::field(
                format!("reasons[{i}].code"),
                "use 1 to 64 lower-case letters, digits and underscores",
            ));
        }
        if !codes.insert(r.code.as_str()) {
            return Err(Error::field(
                format!("reasons[{i}].code"),
                format!("{:?} is listed twice", r.code),
            ));
        }
        crate::validate::text(&format!("reasons[{i}].label"), &r.label, 1, 100)?;
    }
    if !d.reasons.iter().any(|r| r.code == "other") {
        return Err(Error::field(
            "reasons",
            "keep the reason \"other\" (reps need a way to say what no reason covers)",
        ));
    }
    Ok(())
}

/// What `next` changes against `prev`, one line per change.
pub fn changes(prev: Option<&Definition>, next: &DefinitionDraft) -> Vec<String> {
    let Some(prev) = prev else {
        return vec!["first version".into()];
    };
    let mut out = Vec::new();
    if prev.threshold != next.threshold {
        out.push(format!("threshold {} → {}", prev.threshold, next.threshold));
    }
    let key = |c: &Criterion| {
        (
            c.kind,
            c.key.to_lowercase(),
            c.value.clone().map(|v| v.to_lowercase()),
        )
    };
    for c in &next.criteria {
        match prev.criteria.iter().find(|p| key(p) == key(c)) {
            None => out.push(format!("criterion added: {}", criterion_name(c))),
            Some(p) if p != c => out.push(format!("criterion changed: {}", criterion_name(c))),
            Some(_) => {}
        }
    }
    for p in &prev.criteria {
        if !next.criteria.iter().any(|c| key(c) == key(p)) {
            out.push(format!("criterion removed: {}", criterion_name(p)));
        }
    }
    for r in &next.reasons {
        match prev.reasons.iter().find(|p| p.code == r.code) {
            None => out.push(format!("reason added: {}", r.label)),
            Some(p) if p != r => out.push(format!("reason changed: {}", r.label)),
            Some(_) => {}
        }
    }
    for p in &prev.reasons {
        if !next.reasons.iter().any(|r| r.code == p.code) {
            out.push(format!("reason removed: {}", p.label));
        }
    }
    if out.is_empty() {
        out.push("wording only".into());
    }
    out
}

fn criterion_name(c: &Criterion) -> String {
    match &c.value {
        Some(v) => format!("{} = {}", c.key, v),
        None => c.key.clone(),
    }
}

/// Publishes a new version, in force from this transaction's commit: the
/// next lead is qualified under it. Every active rep's app hears of it.
pub fn publish_definition(
    tx: &mut dyn WriteTx,
    actor: &str,
    draft: &DefinitionDraft,
    config_hash: Option<&str>,
    now: Timestamp,
) -> Result<Definition> {
    check_draft(draft)?;
    let prev = tx.definition(None)?;
    let definition = Definition {
        version: prev.as_ref().map_or(1, |p| p.version + 1),
        threshold: draft.threshold,
        criteria: draft.criteria.clone(),
        reasons: draft.reasons.clone(),
        effective_at: now,
        author: actor.to_string(),
        note: draft.note.clone(),
        changes: changes(prev.as_ref(), draft),
    };
    tx.insert_definition(&definition, config_hash)?;
    crate::outbound::emit_definition(tx, &definition)?;
    tx.append_audit(
        now,
        actor,
        "definition.published",
        &format!("definition v{}", definition.version),
        &format!("{} — {}", definition.changes.join("; "), definition.note),
    )?;
    for rep in tx.reps()? {
        if rep.active {
            tx.append_feed(
                rep.id,
                now,
                &Change::DefinitionPublished {
                    version: definition.version,
                },
            )?;
        }
    }
    Ok(definition)
}

/// At start-up: the config's threshold and reasons become a version when
/// none exists, or when the file changed since the last version taken from it.
pub fn adopt_config_definition(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    now: Timestamp,
) -> Result<Option<Definition>> {
    let reasons: Vec<RejectReason> = cfg.reasons.iter().map(RejectReason::from).collect();
    let hash = {
        let mut h = Sha256::new();
        h.update(cfg.qualification_threshold.to_le_bytes());
        h.update(serde_json::to_vec(&reasons)?);
        hex::encode(h.finalize())
    };
    if tx.config_definition_hash()?.as_deref() == Some(hash.as_str()) {
        return Ok(None);
    }
    let prev = tx.definition(None)?;
    let draft = DefinitionDraft {
        threshold: cfg.qualification_threshold,
        criteria: prev.map(|p| p.criteria).unwrap_or_default(),
        reasons,
        note: "taken from the server's config file".into(),
    };
    publish_definition(tx, "config file", &draft, Some(&hash), now).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> DefinitionDraft {
        DefinitionDraft {
            threshold: 70,
            criteria: vec![Criterion {
                kind: CriterionKind::QuizAnswer,
                key: "Team size".into(),
                value: Some("More than 100 reps".into()),
                points: Some(20),
                meaning: "Large floors feel routing pain first".into(),
                opener: Some("Open with the routing audit for large floors".into()),
            }],
            reasons: crate::config::default_reasons()
                .iter()
                .map(RejectReason::from)
                .collect(),
            note: "raise the bar".into(),
        }
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        assert!(check_draft(&draft()).is_ok());
        let mut d = draft();
        d.threshold = 101;
        assert!(
            matches!(check_draft(&d), Err(Error::InvalidField { field, .. }) if field == "threshold")
        );
        let mut d = draft();
        d.criteria[0].kind = CriterionKind::Intent;
        assert!(
            matches!(check_draft(&d), Err(Error::InvalidField { field, .. }) if field == "criteria[0].key")
        );
        let mut d = draft();
        d.reasons.retain(|r| r.code != "other");
        assert!(check_draft(&d).is_err());
        let mut d = draft();
        d.reasons[1].code = d.reasons[0].code.clone();
        assert!(
            matches!(check_draft(&d), Err(Error::InvalidField { field, .. }) if field == "reasons[1].code")
        );
    }

    #[test]
    fn changes_name_what_moved() {
        let d = draft();
        let prev = Definition {
            version: 3,
            threshold: 60,
            criteria: vec![],
            reasons: d.reasons[1..].to_vec(),
            effective_at: Timestamp::from_millis(0),
            author: "a".into(),
            note: "n".into(),
            changes: vec![],
        };
        let c = changes(Some(&prev), &d);
        assert_eq!(
            c,
            vec![
                "threshold 60 → 70".to_string(),
                "criterion added: Team size = More than 100 reps".into(),
                format!("reason added: {}", d.reasons[0].label),
            ]
        );
        assert_eq!(changes(None, &d), vec!["first version".to_string()]);
    }
}
