//! The review's definition of a qualified lead: the version in force and
//! every one before it, what a proposed threshold would have done over a
//! past period, publishing a new version (admins), and each version's
//! outcomes side by side.

use baton_protocol::{
    Criterion, Definition, DefinitionDraft, DefinitionList, DefinitionPreview, PreviewRequest,
    RejectReason, VersionOutcomes,
};

use super::Review;
use crate::api::FormAnswer;
use crate::error::{CoreError, Result};

/// `None` for an empty team (every team the manager may see).
fn team(team: Option<&str>) -> Option<&str> {
    team.map(str::trim).filter(|t| !t.is_empty())
}

/// What was typed, trimmed: an empty answer value or opener is none (a
/// criterion for any answer; no line under "How to open").
pub fn tidy_draft(d: &DefinitionDraft) -> DefinitionDraft {
    let optional = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    DefinitionDraft {
        threshold: d.threshold,
        criteria: d
            .criteria
            .iter()
            .map(|c| Criterion {
                kind: c.kind,
                key: c.key.trim().to_string(),
                value: optional(&c.value),
                points: c.points,
                meaning: c.meaning.trim().to_string(),
                opener: optional(&c.opener),
            })
            .collect(),
        reasons: d
            .reasons
            .iter()
            .map(|r| RejectReason {
                code: r.code.trim().to_string(),
                label: r.label.trim().to_string(),
                ..r.clone()
            })
            .collect(),
        note: d.note.trim().to_string(),
    }
}

impl Review {
    /// Every version, newest first, and the one in force.
    pub async fn definitions(&self) -> Result<DefinitionList> {
        self.api.definitions().await
    }

    pub async fn definition(&self, version: u32) -> Result<Definition> {
        if version == 0 {
            return Err(CoreError::InvalidInput(
                "definition versions start at 1".into(),
            ));
        }
        self.api.definition(version).await
    }

    /// What `req.threshold` would have done over `[from, to)` against the
    /// threshold in force, counted by the server from that period's leads
    /// and decisions. A threshold or period it will not take is an answer
    /// naming the field.
    pub async fn preview_definition(
        &self,
        team_name: Option<&str>,
        req: &PreviewRequest,
    ) -> Result<FormAnswer<DefinitionPreview>> {
        if req.threshold > 100 {
            return Ok(FormAnswer::Invalid {
                field: "threshold".into(),
                message: "must be a score from 0 to 100".into(),
            });
        }
        if req.from >= req.to {
            return Ok(FormAnswer::Invalid {
                field: "from".into(),
                message: "the period's start must be before its end".into(),
            });
        }
        self.api.preview_definition(team(team_name), req).await
    }

    /// Publishes the draft as the next version (admins only): leads
    /// arriving from now on are qualified under it. A field the server
    /// will not take (`criteria[2].key`, `note`…) is an answer naming it.
    pub async fn publish_definition(
        &self,
        draft: &DefinitionDraft,
    ) -> Result<FormAnswer<Definition>> {
        let draft = tidy_draft(draft);
        if draft.note.is_empty() {
            return Ok(FormAnswer::Invalid {
                field: "note".into(),
                message: "say what changed and why: it is kept with the version".into(),
            });
        }
        self.api.publish_definition(&draft).await
    }

    /// Acceptance, rejection reasons and speed under each version, oldest first.
    pub async fn definition_outcomes(&self, team_name: Option<&str>) -> Result<VersionOutcomes> {
        self.api.definition_outcomes(team(team_name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stand_in::StandIn;
    use baton_protocol::{CriterionKind, Timestamp};

    fn review(base: &str) -> Review {
        Review::against(base)
    }

    fn draft() -> DefinitionDraft {
        DefinitionDraft {
            threshold: 72,
            criteria: vec![Criterion {
                kind: CriterionKind::QuizAnswer,
                key: " How many reps? ".into(),
                value: Some(" More than 100 ".into()),
                points: Some(30),
                meaning: " Large floors route the most ".into(),
                opener: Some("  ".into()),
            }],
            reasons: vec![RejectReason {
                code: "other".into(),
                label: " Other ".into(),
                note_required: true,
                routes_on: false,
            }],
            note: " Raise the bar after the Q3 review ".into(),
        }
    }

    const V5: &str = r#"{"version":5,"threshold":72,"criteria":[{"kind":"quiz_answer","key":"How many reps?","value":"More than 100","points":30,"meaning":"Large floors route the most"}],"reasons":[{"code":"other","label":"Other","note_required":true,"routes_on":false}],"effective_at":"2026-12-01T09:00:00Z","author":"Morgan","note":"Raise the bar after the Q3 review","changes":["threshold 60 → 72"]}"#;

    #[tokio::test]
    async fn a_draft_is_published_as_typed_without_its_blanks() {
        let server = StandIn::serve(vec![("201 Created", V5.into())]).await;
        let answer = review(&server.base)
            .publish_definition(&draft())
            .await
            .unwrap();
        let published = answer.saved().expect("published");
        assert_eq!(published.version, 5);
        let asked = &server.asked()[0];
        assert_eq!(asked.line, "POST /v1/definitions HTTP/1.1");
        let sent: serde_json::Value = serde_json::from_str(&asked.body).unwrap();
        assert_eq!(sent["criteria"][0]["key"], "How many reps?");
        assert_eq!(sent["criteria"][0]["value"], "More than 100");
        assert_eq!(sent["criteria"][0].get("opener"), None, "{sent}");
        assert_eq!(sent["reasons"][0]["label"], "Other");
        assert_eq!(sent["note"], "Raise the bar after the Q3 review");
    }

    #[tokio::test]
    async fn a_criterion_the_server_refuses_is_named_for_the_editor() {
        let server = StandIn::serve(vec![(
            "422 Unprocessable Entity",
            r#"{"error":{"code":"invalid_field","message":"an intent criterion's key is need, timeline or budget","field":"criteria[0].key"}}"#.into(),
        )])
        .await;
        let answer = review(&server.base)
            .publish_definition(&draft())
            .await
            .unwrap();
        assert_eq!(
            answer,
            FormAnswer::Invalid {
                field: "criteria[0].key".into(),
                message: "an intent criterion's key is need, timeline or budget".into(),
            }
        );
    }

    #[tokio::test]
    async fn only_admins_publish() {
        let server = StandIn::serve(vec![(
            "403 Forbidden",
            r#"{"error":{"code":"forbidden","message":"only an admin may publish a definition"}}"#
                .into(),
        )])
        .await;
        let e = review(&server.base)
            .publish_definition(&draft())
            .await
            .unwrap_err();
        assert_eq!(e.refusal(), Some(baton_protocol::ErrorCode::Forbidden));
    }

    #[tokio::test]
    async fn a_preview_is_asked_for_one_team_over_the_period() {
        let server = StandIn::serve(vec![(
            "200 OK",
            r#"{"from":"2026-11-01T00:00:00Z","to":"2026-12-01T00:00:00Z","current_threshold":60,"proposed_threshold":72,"leads":120,"qualified_current":80,"qualified_proposed":55,"newly_qualified":0,"newly_unqualified":25,"decided_current":70,"accepted_current":42,"decided_proposed":50,"accepted_proposed":38,"acceptance_current":0.6,"acceptance_proposed":0.76}"#.into(),
        )])
        .await;
        let req = PreviewRequest {
            threshold: 72,
            from: "2026-11-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            to: "2026-12-01T00:00:00Z".parse::<Timestamp>().unwrap(),
        };
        let preview = review(&server.base)
            .preview_definition(Some("north america"), &req)
            .await
            .unwrap()
            .saved()
            .unwrap();
        assert_eq!(
            (preview.newly_unqualified, preview.qualified_proposed),
            (25, 55)
        );
        let asked = &server.asked()[0];
        assert_eq!(
            asked.line,
            "POST /v1/definitions/preview?team=north%20america HTTP/1.1"
        );
        let sent: serde_json::Value = serde_json::from_str(&asked.body).unwrap();
        assert_eq!(sent["threshold"], 72);
    }

    #[tokio::test]
    async fn a_period_or_threshold_that_cannot_be_previewed_is_answered_at_once() {
        // Nothing listens on the discard port: a request would fail as offline.
        let review = review("http://127.0.0.1:9");
        let at = "2026-11-01T00:00:00Z".parse::<Timestamp>().unwrap();
        let backwards = PreviewRequest {
            threshold: 50,
            from: at,
            to: at,
        };
        assert!(matches!(
            review.preview_definition(None, &backwards).await.unwrap(),
            FormAnswer::Invalid { ref field, .. } if field == "from"
        ));
        let too_high = PreviewRequest {
            threshold: 101,
            from: at,
            to: at.plus_millis(1),
        };
        assert!(matches!(
            review.preview_definition(None, &too_high).await.unwrap(),
            FormAnswer::Invalid { ref field, .. } if field == "threshold"
        ));
        let mut unsaid = draft();
        unsaid.note = "   ".into();
        assert!(matches!(
            review.publish_definition(&unsaid).await.unwrap(),
            FormAnswer::Invalid { ref field, .. } if field == "note"
        ));
        assert!(matches!(
            review.definition(0).await.unwrap_err(),
            CoreError::InvalidInput(_)
        ));
    }

    #[tokio::test]
    async fn versions_and_their_outcomes_are_read_for_a_team() {
        let server = StandIn::serve(vec![
            ("200 OK", format!(r#"{{"in_force":5,"definitions":[{V5}]}}"#)),
            (
                "200 OK",
                r#"{"versions":[{"version":5,"threshold":72,"effective_at":"2026-12-01T09:00:00Z","leads":10,"qualified":6,"offers":6,"accepted":5,"rejected":1,"acceptance_rate":0.83,"median_decision_secs":240,"reasons":[["no_budget",1]]}]}"#.into(),
            ),
            ("200 OK", V5.into()),
        ])
        .await;
        let review = review(&server.base);
        assert_eq!(review.definitions().await.unwrap().in_force, 5);
        let outcomes = review.definition_outcomes(Some("sales")).await.unwrap();
        assert_eq!(outcomes.versions[0].reasons, [("no_budget".to_string(), 1)]);
        assert_eq!(review.definition(5).await.unwrap().author, "Morgan");
        assert_eq!(
            server.lines(),
            [
                "GET /v1/definitions HTTP/1.1",
                "GET /v1/definitions/outcomes?team=sales HTTP/1.1",
                "GET /v1/definitions/5 HTTP/1.1",
            ]
        );
    }
}
