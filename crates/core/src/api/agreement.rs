//! The shared definition of a qualified lead, working hours, team
//! administration and escalations on the server.

use std::time::Duration;

use baton_protocol::{
    AuditLog, Definition, DefinitionDraft, DefinitionList, DefinitionPreview, ErrorBody,
    EscalationList, Manager, ManagerList, ManagerScope, NewRep, PreviewRequest, Rep, RepCreated,
    RepList, RepUpdate, TeamList, VersionOutcomes, WorkSchedule,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ApiClient, classify_error, content_type, decode, offline, team_query};
use crate::error::Result;

/// What a form sent to the server came to: saved (the server's answer), or
/// one field it would not take, with why, for the form to show next to
/// that field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FormAnswer<T> {
    Saved {
        value: T,
    },
    /// `field` is the form's path to it: `threshold`, `criteria[2].key`,
    /// `hours[0].end`, `absences[1].from`.
    Invalid {
        field: String,
        message: String,
    },
}

impl<T> FormAnswer<T> {
    pub fn saved(self) -> Option<T> {
        match self {
            FormAnswer::Saved { value } => Some(value),
            FormAnswer::Invalid { .. } => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> FormAnswer<U> {
        match self {
            FormAnswer::Saved { value } => FormAnswer::Saved { value: f(value) },
            FormAnswer::Invalid { field, message } => FormAnswer::Invalid { field, message },
        }
    }
}

/// Reads the answer to a form. A 422 in baton-server's own error body that
/// names a field is an answer for the form (the field with `strip` taken
/// off its front: the server names a schedule's fields `schedule.…`);
/// anything else that is not a success is classified as usual.
pub(crate) fn form_answer<T: DeserializeOwned>(
    what: &str,
    status: u16,
    content_type: &str,
    text: &str,
    strip: &str,
) -> Result<FormAnswer<T>> {
    match status {
        200..=299 => Ok(FormAnswer::Saved {
            value: decode(what, text)?,
        }),
        422 => match serde_json::from_str::<ErrorBody>(text) {
            Ok(ErrorBody { error }) if error.code != baton_protocol::ErrorCode::Unknown => {
                match error.field {
                    Some(field) => Ok(FormAnswer::Invalid {
                        field: field
                            .strip_prefix(strip)
                            .filter(|f| !f.is_empty())
                            .unwrap_or(&field)
                            .to_string(),
                        message: error.message,
                    }),
                    None => Err(classify_error(status, content_type, text)),
                }
            }
            _ => Err(classify_error(status, content_type, text)),
        },
        _ => Err(classify_error(status, content_type, text)),
    }
}

impl ApiClient {
    /// Sends `body` as JSON and reads the answer as a form's.
    pub(crate) async fn send_form<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
        strip: &str,
    ) -> Result<FormAnswer<T>> {
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .json(body)
            .send()
            .await
            .map_err(offline)?;
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let success = resp.status().is_success();
        let text = match resp.text().await {
            Ok(text) => text,
            // Saved, perhaps, but the answer (a new rep's token) is lost
            // with it: say so rather than guess.
            Err(e) if success => return Err(offline(e)),
            Err(_) => String::new(),
        };
        form_answer(&what, status, &content_type, &text, strip)
    }

    /// Every version of the definition, newest first, and the one in force.
    pub async fn definitions(&self) -> Result<DefinitionList> {
        self.get("/v1/definitions").await
    }

    pub async fn definition(&self, version: u32) -> Result<Definition> {
        self.get(&format!("/v1/definitions/{version}")).await
    }

    /// Publishes a new version (admins only).
    pub async fn publish_definition(
        &self,
        draft: &DefinitionDraft,
    ) -> Result<FormAnswer<Definition>> {
        self.send_form(reqwest::Method::POST, "/v1/definitions", draft, "")
            .await
    }

    /// What a threshold would have done over a past period (managers only).
    pub async fn preview_definition(
        &self,
        team: Option<&str>,
        req: &PreviewRequest,
    ) -> Result<FormAnswer<DefinitionPreview>> {
        let team = team_query(team).replacen('&', "?", 1);
        self.send_form(
            reqwest::Method::POST,
            &format!("/v1/definitions/preview{team}"),
            req,
            "",
        )
        .await
    }

    /// Each version's acceptance, reasons and speed (managers only).
    pub async fn definition_outcomes(&self, team: Option<&str>) -> Result<VersionOutcomes> {
        let team = team_query(team).replacen('&', "?", 1);
        self.get(&format!("/v1/definitions/outcomes{team}")).await
    }

    /// The reps of the teams the manager manages.
    pub async fn reps(&self) -> Result<RepList> {
        self.get("/v1/reps").await
    }

    pub async fn teams(&self) -> Result<TeamList> {
        self.get("/v1/teams").await
    }

    /// Adds a rep; the answer holds their token, which the server never
    /// shows again.
    pub async fn create_rep(&self, new: &NewRep) -> Result<FormAnswer<RepCreated>> {
        self.send_form(reqwest::Method::POST, "/v1/reps", new, "")
            .await
    }

    pub async fn update_rep(&self, id: i64, change: &RepUpdate) -> Result<FormAnswer<Rep>> {
        self.send_form(
            reqwest::Method::PATCH,
            &format!("/v1/reps/{id}"),
            change,
            "",
        )
        .await
    }

    /// Sets (or with `None` clears) a rep's hours and absences (managers).
    pub async fn set_rep_schedule(
        &self,
        id: i64,
        schedule: Option<&WorkSchedule>,
    ) -> Result<FormAnswer<Rep>> {
        self.send_form(
            reqwest::Method::PUT,
            &format!("/v1/reps/{id}/schedule"),
            &schedule,
            "schedule.",
        )
        .await
    }

    /// Sets (or with `None` clears) the signed-in rep's own hours and absences.
    pub async fn set_my_schedule(
        &self,
        schedule: Option<&WorkSchedule>,
    ) -> Result<FormAnswer<Rep>> {
        self.send_form(
            reqwest::Method::PUT,
            "/v1/me/schedule",
            &schedule,
            "schedule.",
        )
        .await
    }

    /// Every manager and the teams each manages (admins only).
    pub async fn managers(&self) -> Result<ManagerList> {
        self.get("/v1/managers").await
    }

    pub async fn set_manager_scope(
        &self,
        id: i64,
        scope: &ManagerScope,
    ) -> Result<FormAnswer<Manager>> {
        self.send_form(
            reqwest::Method::PUT,
            &format!("/v1/managers/{id}/scope"),
            scope,
            "",
        )
        .await
    }

    /// Administrative changes, newest first (admins only).
    pub async fn audit(&self, before: Option<i64>, limit: u32) -> Result<AuditLog> {
        let before = before.map(|b| format!("&before={b}")).unwrap_or_default();
        self.get(&format!("/v1/audit?limit={limit}{before}")).await
    }

    /// Missed SLAs in the manager's teams after `after`, oldest first.
    pub async fn escalations(&self, after: i64, limit: u32) -> Result<EscalationList> {
        self.get(&format!("/v1/escalations?after={after}&limit={limit}"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    const WHAT: &str = "PUT /v1/me/schedule";

    #[test]
    fn a_refused_field_is_an_answer_named_as_the_form_names_it() {
        let body = r#"{"error":{"code":"invalid_field","message":"\"25:00\" is not a time of day","field":"schedule.hours[2].end"}}"#;
        let answer: FormAnswer<Rep> =
            form_answer(WHAT, 422, "application/json", body, "schedule.").unwrap();
        assert_eq!(
            answer,
            FormAnswer::Invalid {
                field: "hours[2].end".into(),
                message: "\"25:00\" is not a time of day".into(),
            }
        );
        // A field outside the prefix is named as the server named it.
        let body = r#"{"error":{"code":"invalid_field","message":"must be from 1 to 1000","field":"weight"}}"#;
        let answer: FormAnswer<Rep> =
            form_answer(WHAT, 422, "application/json", body, "schedule.").unwrap();
        assert!(matches!(answer, FormAnswer::Invalid { ref field, .. } if field == "weight"));
    }

    #[test]
    fn a_422_without_a_field_or_from_a_proxy_is_not_a_form_answer() {
        let no_field = r#"{"error":{"code":"invalid_field","message":"no"}}"#;
        let e = form_answer::<Rep>(WHAT, 422, "application/json", no_field, "").unwrap_err();
        assert_eq!(
            e.refusal(),
            Some(baton_protocol::ErrorCode::InvalidField),
            "{e:?}"
        );
        let e = form_answer::<Rep>(WHAT, 422, "text/html", "<html>422</html>", "").unwrap_err();
        assert!(e.is_transient(), "{e:?}");
        let forbidden = r#"{"error":{"code":"forbidden","message":"admins only"}}"#;
        let e = form_answer::<Rep>(WHAT, 403, "application/json", forbidden, "").unwrap_err();
        assert_eq!(e.refusal(), Some(baton_protocol::ErrorCode::Forbidden));
        let e = form_answer::<Rep>(WHAT, 200, "application/json", r#"{"id":1}"#, "").unwrap_err();
        assert!(matches!(e, CoreError::IncompatibleServer(_)), "{e:?}");
    }
}
