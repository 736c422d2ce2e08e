//! What becomes of a delivery from an inbound source: taken in as a lead,
//! recognised as a replay, or kept as a failed intake for a manager to
//! retry (after fixing the mapping) or dismiss. Each runs in one write job,
//! so the receipt and the lead it made commit together or not at all.

use baton_protocol::{
    IntakeOutcome, IntakeReceipt, LeadIntake, ReceiptStatus, SourceIntakeResponse, SourceOutcome,
    Timestamp,
};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::routing;
use crate::sources::MapError;
use crate::store::{NewReceipt, WriteTx};

/// A delivery as the API hands it over: verified, named, mapped (or not).
pub struct Delivery {
    pub source: String,
    pub event_id: String,
    pub body: Vec<u8>,
    pub mapped: std::result::Result<LeadIntake, MapError>,
    pub received_at: Timestamp,
}

/// Errors of intake that say the payload (not the server) is at fault: the
/// delivery is kept as a failed intake rather than refused. Intake raises
/// them before it writes anything, so nothing of the attempt is kept.
fn payload_fault(e: &Error) -> Option<MapError> {
    match e {
        Error::ExternalIdTaken(m) => Some(MapError {
            field: "external_id".into(),
            message: m.clone(),
        }),
        Error::InvalidField { field, message } => Some(MapError {
            field: field.clone(),
            message: message.clone(),
        }),
        _ => None,
    }
}

fn outcome_of(o: IntakeOutcome) -> SourceOutcome {
    match o {
        IntakeOutcome::Created => SourceOutcome::Created,
        IntakeOutcome::Updated => SourceOutcome::Updated,
        IntakeOutcome::Unchanged => SourceOutcome::Unchanged,
    }
}

/// Takes in one delivery.
pub fn receive(tx: &mut dyn WriteTx, cfg: &Config, d: Delivery) -> Result<SourceIntakeResponse> {
    if let Some(r) = tx.intake_receipt_by_event(&d.source, &d.event_id)? {
        // The provider re-sent an event it already delivered: nothing changes.
        return Ok(SourceIntakeResponse {
            outcome: SourceOutcome::Duplicate,
            receipt_id: r.id,
            lead_id: r.lead_id,
            field: r.field,
            message: r.message,
        });
    }
    let applied = match d.mapped {
        Ok(lead) => match routing::intake(tx, cfg, lead, &d.source, d.received_at) {
            Ok(resp) => Ok(resp),
            Err(e) => Err(payload_fault(&e).ok_or(e)?),
        },
        Err(m) => Err(m),
    };
    match applied {
        Ok(resp) => {
            let id = tx.insert_intake_receipt(&NewReceipt {
                source: &d.source,
                event_id: &d.event_id,
                received_at: d.received_at,
                status: ReceiptStatus::Applied,
                outcome: Some(resp.outcome),
                lead_id: Some(resp.lead.id),
                field: None,
                message: None,
                body: &d.body,
            })?;
            // A new lead has this one body; only later deliveries can
            // push it past the bound.
            if resp.outcome != IntakeOutcome::Created {
                tx.trim_receipt_bodies(resp.lead.id, cfg.limits.receipt_bodies_per_lead)?;
            }
            Ok(SourceIntakeResponse {
                outcome: outcome_of(resp.outcome),
                receipt_id: id,
                lead_id: Some(resp.lead.id),
                field: None,
                message: None,
            })
        }
        Err(m) => {
            let id = tx.insert_intake_receipt(&NewReceipt {
                source: &d.source,
                event_id: &d.event_id,
                received_at: d.received_at,
                status: ReceiptStatus::Failed,
                outcome: None,
                lead_id: None,
                field: Some(&m.field),
                message: Some(&m.message),
                body: &d.body,
            })?;
            Ok(SourceIntakeResponse {
                outcome: SourceOutcome::Failed,
                receipt_id: id,
                lead_id: None,
                field: Some(m.field),
                message: Some(m.message),
            })
        }
    }
}

/// A failed intake that may be retried or dismissed, or the answer already
/// given (a retry of a retry changes nothing).
fn open_failure(
    tx: &mut dyn WriteTx,
    id: i64,
) -> Result<std::result::Result<IntakeReceipt, IntakeReceipt>> {
    let r = tx
        .intake_receipt(id)?
        .ok_or_else(|| Error::NotFound(format!("no failed intake with id {id}")))?;
    Ok(match r.status {
        ReceiptStatus::Failed => Ok(r),
        _ => Err(r),
    })
}

/// Retries a failed intake with the mapping as configured now. `remap`
/// maps the stored body (the API passes the source's current adapter).
pub fn retry(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    id: i64,
    remap: impl FnOnce(&IntakeReceipt) -> std::result::Result<LeadIntake, MapError>,
    now: Timestamp,
) -> Result<(IntakeReceipt, SourceIntakeResponse)> {
    let mut r = match open_failure(tx, id)? {
        Ok(r) => r,
        Err(done) => {
            if done.status == ReceiptStatus::Reprocessed {
                // Retried before: nothing changes this time.
                let answer = SourceIntakeResponse {
                    outcome: SourceOutcome::Duplicate,
                    receipt_id: done.id,
                    lead_id: done.lead_id,
                    field: None,
                    message: None,
                };
                return Ok((done, answer));
            }
            return Err(Error::Conflict(format!(
                "failed intake {id} was dismissed; it cannot be retried"
            )));
        }
    };
    let applied = match remap(&r) {
        Ok(lead) => match routing::intake(tx, cfg, lead, &r.source, now) {
            Ok(resp) => Ok(resp),
            Err(e) => Err(payload_fault(&e).ok_or(e)?),
        },
        Err(m) => Err(m),
    };
    match applied {
        Ok(resp) => {
            r.status = ReceiptStatus::Reprocessed;
            r.outcome = Some(resp.outcome);
            r.lead_id = Some(resp.lead.id);
            r.resolved_at = Some(now);
            tx.update_intake_receipt(&r)?;
            tx.trim_receipt_bodies(resp.lead.id, cfg.limits.receipt_bodies_per_lead)?;
            let answer = SourceIntakeResponse {
                outcome: outcome_of(resp.outcome),
                receipt_id: r.id,
                lead_id: r.lead_id,
                field: None,
                message: None,
            };
            Ok((r, answer))
        }
        Err(m) => {
            // Still failing: the receipt says why now.
            r.field = Some(m.field.clone());
            r.message = Some(m.message.clone());
            tx.update_intake_receipt(&r)?;
            let answer = SourceIntakeResponse {
                outcome: SourceOutcome::Failed,
                receipt_id: r.id,
                lead_id: None,
                field: Some(m.field),
                message: Some(m.message),
            };
            Ok((r, answer))
        }
    }
}

/// Marks a failed intake as not a lead.
pub fn dismiss(tx: &mut dyn WriteTx, id: i64, now: Timestamp) -> Result<IntakeReceipt> {
    match open_failure(tx, id)? {
        Ok(mut r) => {
            r.status = ReceiptStatus::Dismissed;
            r.resolved_at = Some(now);
            tx.update_intake_receipt(&r)?;
            Ok(r)
        }
        Err(done) if done.status == ReceiptStatus::Dismissed => Ok(done),
        Err(_) => Err(Error::Conflict(format!(
            "intake {id} is not a failed intake (it made a lead); nothing to dismiss"
        ))),
    }
}
