//! The qualification definition (versions, preview, publishing, outcomes),
//! team administration (reps, hours and absences, managers' scopes, the
//! audit log) and escalations.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_protocol::{
    AuditLog, DefinitionDraft, DefinitionList, EscalationList, Manager, ManagerList, ManagerScope,
    NewRep, PreviewRequest, Rep, RepCreated, RepUpdate, Role, VersionOutcome, VersionOutcomes,
    WorkSchedule,
};

use super::{
    AdminAuth, AppState, Auth, JsonBody, ManagerAuth, Params, RepAuth, int_param, params, scope_of,
    scoped_team,
};
use crate::auth::{new_token, token_hash};
use crate::error::{Error, Result};
use crate::store::Principal;
use crate::{admin, calibration, report};

/// A whole-number `{id}` (or `{version}`) from the path; a JSON 404 otherwise.
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        let not_found = || Error::NotFound("no such record: ids are whole numbers".into());
        match Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Path(segments)) => segments
                .first()
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .filter(|id| *id > 0)
                .map(IdPath)
                .ok_or_else(not_found),
            Err(_) => Err(not_found()),
        }
    }
}

fn not_intake(p: &Principal) -> Result<()> {
    if p.role == Role::Intake {
        return Err(Error::Forbidden("an intake key cannot read the definition"));
    }
    Ok(())
}

/// `GET /v1/definitions`: every version, newest first (reps and managers).
pub async fn list(State(s): State<AppState>, auth: Auth) -> Result<Json<DefinitionList>> {
    not_intake(&auth.0)?;
    let definitions = s.db.read(|tx| tx.definitions()).await?;
    Ok(Json(DefinitionList {
        in_force: definitions.first().map_or(0, |d| d.version),
        definitions,
    }))
}

/// `GET /v1/definitions/{version}`.
pub async fn get(
    State(s): State<AppState>,
    auth: Auth,
    IdPath(version): IdPath,
) -> Result<Json<baton_protocol::Definition>> {
    not_intake(&auth.0)?;
    let version =
        u32::try_from(version).map_err(|_| Error::NotFound(format!("no definition v{version}")))?;
    let d = s.db.read(move |tx| tx.definition(Some(version))).await?;
    Ok(Json(d.ok_or_else(|| {
        Error::NotFound(format!(
            "no definition v{version}; GET /v1/definitions lists them"
        ))
    })?))
}

/// `POST /v1/definitions`: publishes a new version (admins).
pub async fn publish(
    State(s): State<AppState>,
    AdminAuth(who): AdminAuth,
    JsonBody(draft): JsonBody<DefinitionDraft>,
) -> Result<Response> {
    admin::check_draft(&draft)?;
    let now = crate::clock::now();
    let d =
        s.db.write(move |tx| admin::publish_definition(tx, &who.name, &draft, None, now))
            .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

/// `POST /v1/definitions/preview`: what a threshold would have done over a
/// past period (a team's manager: over their team).
pub async fn preview(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    q: Params,
    JsonBody(req): JsonBody<PreviewRequest>,
) -> Result<Json<baton_protocol::DefinitionPreview>> {
    if req.threshold > 100 {
        return Err(Error::field("threshold", "must be a score from 0 to 100"));
    }
    if req.from >= req.to {
        return Err(Error::field("from", "must be before to"));
    }
    let team = scoped_team(&s.config, &who, &params(q)?)?;
    let fallback = s.config.qualification_threshold;
    let preview =
        s.db.read(move |tx| {
            let current = tx.definition(None)?.map_or(fallback, |d| d.threshold);
            let cells = report::period_cells(
                tx,
                req.from,
                req.to,
                team.as_deref(),
                &[report::CellPart::Calibration],
            )?;
            Ok(calibration::preview(
                req.from,
                req.to,
                &cells.decided_offers(),
                &cells.score_counts(),
                current,
                req.threshold,
            ))
        })
        .await?;
    Ok(Json(preview))
}

/// `GET /v1/definitions/outcomes`: acceptance, reasons and speed of the
/// offers made while each version was in force.
pub async fn outcomes(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    q: Params,
) -> Result<Json<VersionOutcomes>> {
    let team = scoped_team(&s.config, &who, &params(q)?)?;
    let config = s.config.clone();
    let versions =
        s.db.read(move |tx| {
            let mut defs = tx.definitions()?;
            defs.reverse();
            let now = crate::clock::now();
            let mut out = Vec::with_capacity(defs.len());
            for (i, d) in defs.iter().enumerate() {
                let until = defs.get(i + 1).map(|n| n.effective_at);
                let to = until.unwrap_or(now.plus_millis(1));
                if to <= d.effective_at {
                    continue;
                }
                let parts = [
                    report::CellPart::Trend,
                    report::CellPart::Groups,
                    report::CellPart::Calibration,
                ];
                let cells = report::period_cells(tx, d.effective_at, to, team.as_deref(), &parts)?;
                let r =
                    report::aggregate(&config, &cells, &[], team.as_deref(), d.effective_at, to);
                let scores = cells.score_counts();
                let mut reasons: Vec<(String, u64)> = r
                    .by_reason
                    .iter()
                    .map(|x| (x.code.clone(), x.rejections))
                    .collect();
                reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                out.push(VersionOutcome {
                    version: d.version,
                    threshold: d.threshold,
                    effective_at: d.effective_at,
                    until,
                    leads: scores.iter().sum(),
                    qualified: scores[d.threshold.min(100) as usize..].iter().sum(),
                    offers: r.totals.assigned,
                    accepted: r.totals.accepted,
                    rejected: r.totals.rejected,
                    acceptance_rate: r.totals.acceptance_rate,
                    median_decision_secs: r
                        .totals
                        .median_seconds_to_decision
                        .map(|s| s.round() as u64),
                    reasons,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(VersionOutcomes { versions }))
}

/// `POST /v1/reps`: a manager adds a rep to one of their teams; the token
/// is in this answer only.
pub async fn create_rep(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    JsonBody(req): JsonBody<NewRep>,
) -> Result<Response> {
    admin::check_new_rep(&s.config, &req)?;
    if !who.manages(&req.team) {
        return Err(Error::Forbidden("you can add reps to your own teams only"));
    }
    let token = new_token(Role::Rep);
    let hash = token_hash(&token);
    let config = s.config.clone();
    let now = crate::clock::now();
    let rep =
        s.db.write(move |tx| {
            let rep = admin::create_rep(tx, &config, &who.name, &req, &hash, now)?;
            crate::routing::offer_queued_to(tx, &config, rep.id, now)?;
            tx.rep(rep.id)?
                .ok_or_else(|| Error::Internal("new rep not readable".into()))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(RepCreated { rep, token })).into_response())
}

/// The rep `id` if `who` manages their team (else a 404: a team's manager
/// does not learn of other teams' reps).
fn managed_rep(tx: &dyn crate::store::ReadTx, who: &Principal, id: i64) -> Result<Rep> {
    tx.rep(id)?
        .filter(|r| who.manages(&r.team))
        .ok_or_else(|| Error::NotFound(format!("rep {id} does not exist in your teams")))
}

/// `PATCH /v1/reps/{id}`: team, weight, cap, activity.
pub async fn update_rep(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    IdPath(id): IdPath,
    JsonBody(change): JsonBody<RepUpdate>,
) -> Result<Json<Rep>> {
    if let Some(team) = &change.team
        && !who.manages(team)
    {
        return Err(Error::Forbidden(
            "you can move reps only into teams you manage",
        ));
    }
    let config = s.config.clone();
    let now = crate::clock::now();
    let revokes = change.active == Some(false);
    let rep =
        s.db.write(move |tx| {
            managed_rep(tx, &who, id)?;
            admin::update_rep(tx, &config, &who.name, id, &change, None, now)
        })
        .await?;
    if revokes {
        // This instance stops honouring the rep's tokens at once (others
        // within a second: app.rs, watch_admin_changes).
        s.hub.tokens_revoked();
    }
    Ok(Json(rep))
}

/// `PUT /v1/reps/{id}/schedule`: a manager sets a rep's hours and absences.
pub async fn put_rep_schedule(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    IdPath(id): IdPath,
    JsonBody(schedule): JsonBody<WorkSchedule>,
) -> Result<Json<Rep>> {
    set_schedule(&s, who.name.clone(), Some(who), id, Some(schedule)).await
}

/// `DELETE /v1/reps/{id}/schedule`: the rep is on shift at any hour again.
pub async fn delete_rep_schedule(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    IdPath(id): IdPath,
) -> Result<Json<Rep>> {
    set_schedule(&s, who.name.clone(), Some(who), id, None).await
}

/// `PUT /v1/me/schedule`: a rep sets their own hours and absences.
pub async fn put_my_schedule(
    State(s): State<AppState>,
    RepAuth(rep): RepAuth,
    JsonBody(schedule): JsonBody<WorkSchedule>,
) -> Result<Json<Rep>> {
    super::take_rep_write(&s, rep)?;
    set_schedule(&s, format!("rep {rep}"), None, rep, Some(schedule)).await
}

/// `DELETE /v1/me/schedule`: a rep clears their own hours and absences.
pub async fn delete_my_schedule(
    State(s): State<AppState>,
    RepAuth(rep): RepAuth,
) -> Result<Json<Rep>> {
    super::take_rep_write(&s, rep)?;
    set_schedule(&s, format!("rep {rep}"), None, rep, None).await
}

async fn set_schedule(
    s: &AppState,
    actor: String,
    manager: Option<Principal>,
    id: i64,
    schedule: Option<WorkSchedule>,
) -> Result<Json<Rep>> {
    if let Some(sch) = &schedule {
        admin::check_schedule(sch)?;
    }
    let config = s.config.clone();
    let now = crate::clock::now();
    let rep =
        s.db.write(move |tx| {
            if let Some(who) = &manager {
                managed_rep(tx, who, id)?;
            }
            let unchanged = RepUpdate::default();
            admin::update_rep(
                tx,
                &config,
                &actor,
                id,
                &unchanged,
                Some(schedule.as_ref()),
                now,
            )
        })
        .await?;
    Ok(Json(rep))
}

/// `GET /v1/managers` (admins).
pub async fn managers(State(s): State<AppState>, _auth: AdminAuth) -> Result<Json<ManagerList>> {
    Ok(Json(ManagerList {
        managers: s.db.read(|tx| tx.managers()).await?,
    }))
}

/// `PUT /v1/managers/{id}/scope` (admins): admin or the teams managed.
pub async fn put_manager_scope(
    State(s): State<AppState>,
    AdminAuth(who): AdminAuth,
    IdPath(id): IdPath,
    JsonBody(scope): JsonBody<ManagerScope>,
) -> Result<Json<Manager>> {
    let mut teams = scope.teams.clone();
    teams.sort();
    teams.dedup();
    if let Some(t) = teams.iter().find(|t| s.config.team(t).is_none()) {
        return Err(Error::field(
            "teams",
            format!("no team is named {t:?}; GET /v1/teams lists them"),
        ));
    }
    if who.subject_id == Some(id) && !scope.admin {
        return Err(Error::field(
            "admin",
            "you cannot take away your own admin role; ask another admin",
        ));
    }
    let now = crate::clock::now();
    let manager =
        s.db.write(move |tx| {
            if !tx.set_manager_scope(id, scope.admin, &teams)? {
                return Err(Error::NotFound(format!("manager {id} does not exist")));
            }
            let detail = if scope.admin {
                "admin (every team)".to_string()
            } else {
                format!(
                    "manages {}",
                    if teams.is_empty() {
                        "no team".into()
                    } else {
                        teams.join(", ")
                    }
                )
            };
            tx.append_audit(
                now,
                &who.name,
                "manager.scope",
                &format!("manager {id}"),
                &detail,
            )?;
            tx.managers()?
                .into_iter()
                .find(|m| m.id == id)
                .ok_or_else(|| Error::Internal(format!("manager {id} not readable")))
        })
        .await?;
    // Remembered principals are read again (the scope is part of them).
    s.hub.tokens_revoked();
    Ok(Json(manager))
}

/// `GET /v1/audit` (admins): administrative changes, newest first.
pub async fn audit(
    State(s): State<AppState>,
    _auth: AdminAuth,
    q: Params,
) -> Result<Json<AuditLog>> {
    let p = params(q)?;
    let limit = int_param(&p, "limit", 100, 1, 1000)? as u32;
    let before = match p.get("before") {
        Some(_) => Some(int_param(&p, "before", 0, 1, i64::MAX)?),
        None => None,
    };
    let entries = s.db.read(move |tx| tx.audit_log(before, limit)).await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditLog {
        entries,
        next_before,
    }))
}

/// `GET /v1/escalations?after=`: missed SLAs in the caller's teams, oldest
/// first; a manager's app polls it to notify.
pub async fn escalations(
    State(s): State<AppState>,
    ManagerAuth(who): ManagerAuth,
    q: Params,
) -> Result<Json<EscalationList>> {
    let p = params(q)?;
    let after = int_param(&p, "after", 0, 0, i64::MAX)?;
    let limit = int_param(&p, "limit", 100, 1, 1000)? as u32;
    let scope = scope_of(&who);
    let escalations =
        s.db.read(move |tx| tx.escalations_after(after, scope.as_deref(), limit))
            .await?;
    let next_after = escalations.last().map_or(after, |e| e.id);
    Ok(Json(EscalationList {
        escalations,
        next_after,
    }))
}
