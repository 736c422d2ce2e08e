//! The review's team administration: the reps of the teams a manager
//! manages (add one, its token shown once; change team, weight and cap;
//! deactivate; set hours and absences) and, for admins, every manager's
//! scope and the audit log.

use baton_protocol::{
    AuditLog, Manager, ManagerList, ManagerScope, NewRep, Rep, RepCreated, RepUpdate, Role, Team,
    WorkSchedule,
};
use serde::{Deserialize, Serialize};

use super::Review;
use crate::api::FormAnswer;
use crate::error::{CoreError, Result};

/// Most audit entries one page lists (the server's own cap).
pub const AUDIT_PAGE_MAX: u32 = 1000;

/// What the Team tab shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(optional_fields = nullable))]
pub struct TeamOverview {
    /// Who is signed in: an admin, or the teams they manage.
    pub manager: Manager,
    /// The teams the manager may add reps to and move them between (an
    /// admin: every team).
    pub teams: Vec<Team>,
    /// The reps of those teams, by team then name.
    pub reps: Vec<Rep>,
}

/// Ids come from the UI: one that is not a server id is refused here.
fn positive(what: &str, id: i64) -> Result<i64> {
    if id <= 0 {
        return Err(CoreError::InvalidInput(format!(
            "{id} is not a {what} id: {what} ids are positive numbers"
        )));
    }
    Ok(id)
}

/// The teams `manager` manages, of `all`.
pub fn managed_teams(manager: &Manager, all: Vec<Team>) -> Vec<Team> {
    all.into_iter()
        .filter(|t| manager.admin || manager.teams.contains(&t.name))
        .collect()
}

fn tidy_schedule(schedule: Option<WorkSchedule>) -> Option<WorkSchedule> {
    schedule.map(crate::schedule::tidy)
}

impl Review {
    /// The signed-in manager, their teams and those teams' reps.
    pub async fn team_overview(&self) -> Result<TeamOverview> {
        let (me, teams, reps) =
            futures_util::try_join!(self.api.me(), self.api.teams(), self.api.reps())?;
        let manager = match me.manager {
            Some(m) => m,
            None if me.role == Role::Manager => {
                return Err(CoreError::IncompatibleServer(
                    "GET /v1/me: the server did not say which teams this manager manages".into(),
                ));
            }
            None => {
                return Err(CoreError::NotActionable(
                    "team administration is for managers".into(),
                ));
            }
        };
        let mut reps = reps.reps;
        reps.sort_by(|a, b| a.team.cmp(&b.team).then_with(|| a.name.cmp(&b.name)));
        Ok(TeamOverview {
            teams: managed_teams(&manager, teams.teams),
            manager,
            reps,
        })
    }

    /// Adds a rep. The answer holds their token: the server shows it this
    /// once, and this client keeps no copy.
    pub async fn create_rep(&self, new: &NewRep) -> Result<FormAnswer<RepCreated>> {
        let new = NewRep {
            name: new.name.trim().to_string(),
            email: new.email.trim().to_string(),
            team: new.team.trim().to_string(),
            weight: new.weight,
            max_open: new.max_open,
            schedule: tidy_schedule(new.schedule.clone()),
        };
        self.api.create_rep(&new).await
    }

    /// Changes what `change` holds (team, weight, cap; `active: false`
    /// deactivates: the rep's tokens stop working and their undecided
    /// leads are routed on at once).
    pub async fn update_rep(&self, id: i64, change: &RepUpdate) -> Result<FormAnswer<Rep>> {
        let change = RepUpdate {
            team: change
                .team
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            ..change.clone()
        };
        if change == RepUpdate::default() {
            return Err(CoreError::InvalidInput(
                "nothing to change: name a team, weight, cap or activity".into(),
            ));
        }
        self.api.update_rep(positive("rep", id)?, &change).await
    }

    /// Sets a rep's hours and absences (`None` clears them: always on shift).
    pub async fn set_rep_schedule(
        &self,
        id: i64,
        schedule: Option<WorkSchedule>,
    ) -> Result<FormAnswer<Rep>> {
        let schedule = tidy_schedule(schedule);
        self.api
            .set_rep_schedule(positive("rep", id)?, schedule.as_ref())
            .await
    }

    /// Every manager and their scope (admins only).
    pub async fn managers(&self) -> Result<ManagerList> {
        self.api.managers().await
    }

    /// Makes a manager an admin, or sets the teams they manage (admins only).
    pub async fn set_manager_scope(
        &self,
        id: i64,
        scope: &ManagerScope,
    ) -> Result<FormAnswer<Manager>> {
        let mut teams: Vec<String> = scope
            .teams
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        teams.sort();
        teams.dedup();
        let scope = ManagerScope {
            admin: scope.admin,
            teams,
        };
        self.api
            .set_manager_scope(positive("manager", id)?, &scope)
            .await
    }

    /// Administrative changes, newest first, with the page's `next_before`
    /// (admins only).
    pub async fn audit(&self, before: Option<i64>, limit: Option<u32>) -> Result<AuditLog> {
        let before = before.map(|b| positive("audit entry", b)).transpose()?;
        let limit = limit.unwrap_or(100).clamp(1, AUDIT_PAGE_MAX);
        self.api.audit(before, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stand_in::StandIn;
    use baton_protocol::{Absence, Weekday, WorkingHours};

    fn review(base: &str) -> Review {
        Review::against(base)
    }

    fn rep_json(id: i64, name: &str, team: &str, active: bool) -> String {
        format!(
            r#"{{"id":{id},"name":"{name}","email":"{}@example.com","team":"{team}","weight":1,"max_open":20,"availability":"available","open_leads":0,"active":{active},"on_shift":true}}"#,
            name.to_lowercase()
        )
    }

    #[tokio::test]
    async fn the_overview_holds_the_managers_own_teams_and_their_reps() {
        let server = StandIn::serve(vec![
            (
                "200 OK",
                r#"{"role":"manager","name":"Morgan","manager":{"id":3,"name":"Morgan","email":"","admin":false,"teams":["sales"]}}"#.into(),
            ),
            (
                "200 OK",
                r#"{"teams":[{"name":"emea","sla_seconds":3600},{"name":"sales","sla_seconds":1800}]}"#.into(),
            ),
            (
                "200 OK",
                format!(r#"{{"reps":[{},{}]}}"#, rep_json(2, "Zoe", "sales", true), rep_json(1, "Ava", "sales", false)),
            ),
        ])
        .await;
        let o = review(&server.base).team_overview().await.unwrap();
        assert!(!o.manager.admin);
        assert_eq!(
            o.teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["sales"]
        );
        assert_eq!(
            o.reps
                .iter()
                .map(|r| (r.name.as_str(), r.active))
                .collect::<Vec<_>>(),
            [("Ava", false), ("Zoe", true)]
        );
    }

    #[test]
    fn an_admin_manages_every_team() {
        let team = |n: &str| Team {
            name: n.into(),
            sla_seconds: 60,
            sla_business_hours: false,
            account_matching: false,
            remind_at_percent: 0,
        };
        let admin = Manager {
            id: 1,
            name: "A".into(),
            email: String::new(),
            admin: true,
            teams: vec![],
        };
        assert_eq!(managed_teams(&admin, vec![team("a"), team("b")]).len(), 2);
        let scoped = Manager {
            admin: false,
            teams: vec!["b".into()],
            ..admin
        };
        assert_eq!(
            managed_teams(&scoped, vec![team("a"), team("b")])[0].name,
            "b"
        );
    }

    #[tokio::test]
    async fn a_new_rep_comes_back_with_their_token_once() {
        let server = StandIn::serve(vec![(
            "201 Created",
            format!(
                r#"{{"rep":{},"token":"btn_rep_secret"}}"#,
                rep_json(9, "Kai", "sales", true)
            ),
        )])
        .await;
        let created = review(&server.base)
            .create_rep(&NewRep {
                name: " Kai ".into(),
                email: " kai@example.com ".into(),
                team: "sales".into(),
                weight: Some(2),
                max_open: None,
                schedule: None,
            })
            .await
            .unwrap()
            .saved()
            .unwrap();
        assert_eq!(
            (created.rep.id, created.token.as_str()),
            (9, "btn_rep_secret")
        );
        let sent: serde_json::Value = serde_json::from_str(&server.asked()[0].body).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"name": "Kai", "email": "kai@example.com", "team": "sales", "weight": 2})
        );
    }

    #[tokio::test]
    async fn a_rep_the_server_will_not_take_is_answered_with_the_field() {
        let server = StandIn::serve(vec![(
            "422 Unprocessable Entity",
            r#"{"error":{"code":"invalid_field","message":"is not an email address","field":"email"}}"#.into(),
        )])
        .await;
        let answer = review(&server.base)
            .create_rep(&NewRep {
                name: "Kai".into(),
                email: "kai".into(),
                team: "sales".into(),
                weight: None,
                max_open: None,
                schedule: None,
            })
            .await
            .unwrap();
        assert!(matches!(answer, FormAnswer::Invalid { ref field, .. } if field == "email"));
    }

    #[tokio::test]
    async fn deactivating_a_rep_is_a_patch_of_active_alone() {
        let server = StandIn::serve(vec![("200 OK", rep_json(4, "Ben", "sales", false))]).await;
        let rep = review(&server.base)
            .update_rep(
                4,
                &RepUpdate {
                    active: Some(false),
                    team: Some("  ".into()),
                    ..RepUpdate::default()
                },
            )
            .await
            .unwrap()
            .saved()
            .unwrap();
        assert!(!rep.active);
        let asked = &server.asked()[0];
        assert_eq!(asked.line, "PATCH /v1/reps/4 HTTP/1.1");
        assert_eq!(asked.body, r#"{"active":false}"#);
    }

    #[tokio::test]
    async fn a_reps_hours_are_set_and_a_bad_stretch_is_named_as_the_form_names_it() {
        let server = StandIn::serve(vec![
            (
                "422 Unprocessable Entity",
                r#"{"error":{"code":"invalid_field","message":"\"18:00\" is before the start 19:00","field":"schedule.hours[1].end"}}"#.into(),
            ),
            ("200 OK", rep_json(4, "Ben", "sales", true)),
        ])
        .await;
        let review = review(&server.base);
        let schedule = WorkSchedule {
            time_zone: "Europe/Berlin".into(),
            hours: vec![
                WorkingHours {
                    day: Weekday::Mon,
                    start: "09:00".into(),
                    end: "17:00".into(),
                },
                WorkingHours {
                    day: Weekday::Tue,
                    start: "19:00".into(),
                    end: "18:00".into(),
                },
            ],
            absences: vec![Absence {
                from: "2027-08-02".into(),
                to: "2027-08-06".into(),
                note: None,
            }],
        };
        let answer = review.set_rep_schedule(4, Some(schedule)).await.unwrap();
        assert!(
            matches!(answer, FormAnswer::Invalid { ref field, .. } if field == "hours[1].end"),
            "{answer:?}"
        );
        review
            .set_rep_schedule(4, None)
            .await
            .unwrap()
            .saved()
            .unwrap();
        let asked = server.asked();
        assert_eq!(asked[0].line, "PUT /v1/reps/4/schedule HTTP/1.1");
        assert_eq!(asked[1].body, "null", "None clears the hours");
    }

    #[tokio::test]
    async fn scopes_are_sent_tidy_and_the_audit_log_page_by_page() {
        let server = StandIn::serve(vec![
            (
                "200 OK",
                r#"{"id":5,"name":"Pat","email":"pat@example.com","admin":false,"teams":["emea","sales"]}"#.into(),
            ),
            (
                "200 OK",
                r#"{"entries":[{"id":40,"at":"2026-12-01T09:00:00Z","actor":"Morgan","action":"rep.created","subject":"rep 9","detail":"Kai joined team \"sales\""}],"next_before":40}"#.into(),
            ),
        ])
        .await;
        let review = review(&server.base);
        let m = review
            .set_manager_scope(
                5,
                &ManagerScope {
                    admin: false,
                    teams: vec!["sales".into(), " emea ".into(), "sales".into()],
                },
            )
            .await
            .unwrap()
            .saved()
            .unwrap();
        assert_eq!(m.teams, ["emea", "sales"]);
        let log = review.audit(Some(41), Some(5_000)).await.unwrap();
        assert_eq!(log.next_before, Some(40));
        let asked = server.asked();
        assert_eq!(asked[0].body, r#"{"admin":false,"teams":["emea","sales"]}"#);
        assert_eq!(asked[1].line, "GET /v1/audit?limit=1000&before=41 HTTP/1.1");
    }

    #[tokio::test]
    async fn nonsense_from_the_window_is_refused_before_it_reaches_the_server() {
        let review = review("http://127.0.0.1:9");
        for e in [
            review
                .update_rep(
                    0,
                    &RepUpdate {
                        weight: Some(2),
                        ..RepUpdate::default()
                    },
                )
                .await
                .unwrap_err(),
            review
                .update_rep(3, &RepUpdate::default())
                .await
                .unwrap_err(),
            review.set_rep_schedule(-1, None).await.unwrap_err(),
            review
                .set_manager_scope(
                    0,
                    &ManagerScope {
                        admin: true,
                        teams: vec![],
                    },
                )
                .await
                .unwrap_err(),
            review.audit(Some(0), None).await.unwrap_err(),
        ] {
            assert!(matches!(e, CoreError::InvalidInput(_)), "{e:?}");
        }
    }
}
