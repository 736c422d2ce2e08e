//! What the shell sends its UI. TypeScript declarations of these (and of the
//! baton-core and baton-protocol types they hold) are generated into
//! `ui/src/bindings.ts` by this crate's `bindings_are_current` test.

use baton_core::engine::SyncStatus;
use baton_core::store::InboxCounts;
use baton_core::{Engine, LeadSummary};
use baton_protocol::{Availability, Role};
use serde::{Deserialize, Serialize};

/// The `status` event: everything the status bar, the tray and the lists
/// need to know that something changed.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StatusView {
    pub sync: SyncStatus,
    pub counts: InboxCounts,
    pub availability: Option<Availability>,
}

impl StatusView {
    /// The engine's state now, with the counts read off the UI's thread.
    pub async fn load(engine: &Engine) -> baton_core::Result<StatusView> {
        Ok(StatusView {
            sync: engine.status(),
            counts: engine.inbox_counts().await?,
            availability: engine.availability(),
        })
    }
}

/// Who is signed in, and the profile's desktop settings.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionView {
    pub signed_in: bool,
    pub server: Option<String>,
    /// `rep` works the inbox; `manager` sees the review.
    pub role: Option<Role>,
    /// The signed-in person's name (a rep's or a manager's).
    pub rep_name: Option<String>,
    /// Where the profile lives, for the settings screen.
    pub data_dir: String,
    /// `HH:MM-HH:MM`, or none.
    pub quiet_hours: Option<String>,
    /// Whether Baton starts at login.
    pub autostart: bool,
    /// Said when the sign-in token is kept in a file rather than the
    /// desktop's keychain: where, why, and how to move it.
    pub token_notice: Option<String>,
    /// Why the signed-in profile could not be opened, if it could not.
    pub error: Option<String>,
}

/// Which leads the inbox lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InboxFilter {
    New,
    Accepted,
    Rejected,
    All,
}

/// One window of the inbox, for the virtualised list.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct InboxPage {
    pub rows: Vec<LeadSummary>,
    pub offset: u32,
    /// How many leads the list holds in all, when known without counting
    /// search hits (a search reports `None` and `has_more` instead).
    pub total: Option<u32>,
    pub has_more: bool,
}

#[cfg(test)]
mod bindings {
    //! `ui/src/bindings.ts` is generated from the Rust types; this test fails
    //! when it is out of date. `UPDATE_BINDINGS=1 cargo test -p baton-desktop
    //! bindings` rewrites it.
    use baton_core::LeadDetail;
    use baton_core::api::FormAnswer;
    use baton_core::engine::{Connection, EngineEvent, Problem, ProblemKind};
    use baton_core::error::{ErrorCode, ErrorView};
    use baton_core::explain::{ConsideredView, LeadContext, WhyView};
    use baton_core::review::{
        ColumnMapping, CsvImport, FailureQuery, ImportField, ImportOptions, ReviewData, ReviewLead,
        ReviewQuery, ReviewTable, TeamOverview, WebhookCreation,
    };
    use baton_core::schedule::ScheduleView;
    use baton_core::store::Undoable;
    use baton_core::store::{DecisionState, HistoryEntry, LocalStatus};
    use baton_protocol as p;
    use ts_rs::{Config, TS};

    use super::*;

    fn decl<T: TS>(cfg: &Config, out: &mut String) {
        if let Some(docs) = T::docs() {
            out.push_str(&docs);
        }
        out.push_str("export ");
        out.push_str(&T::decl(cfg));
        out.push_str("\n\n");
    }

    fn render() -> String {
        // Ids and millisecond counts fit a JavaScript number.
        let cfg = Config::new().with_large_int("number");
        let mut out = String::from(
            "// Generated from the Rust types by src-tauri/src/view.rs (test `bindings_are_current`).\n\
             // Do not edit: run `UPDATE_BINDINGS=1 cargo test -p baton-desktop bindings`.\n\n",
        );
        let o = &mut out;
        decl::<StatusView>(&cfg, o);
        decl::<SessionView>(&cfg, o);
        decl::<InboxFilter>(&cfg, o);
        decl::<InboxPage>(&cfg, o);
        decl::<SyncStatus>(&cfg, o);
        decl::<Connection>(&cfg, o);
        decl::<Problem>(&cfg, o);
        decl::<ProblemKind>(&cfg, o);
        decl::<Undoable>(&cfg, o);
        decl::<EngineEvent>(&cfg, o);
        decl::<ErrorCode>(&cfg, o);
        decl::<InboxCounts>(&cfg, o);
        decl::<ErrorView>(&cfg, o);
        decl::<LeadSummary>(&cfg, o);
        decl::<LeadDetail>(&cfg, o);
        decl::<HistoryEntry>(&cfg, o);
        decl::<LocalStatus>(&cfg, o);
        decl::<DecisionState>(&cfg, o);
        decl::<p::Lead>(&cfg, o);
        decl::<p::LeadStatus>(&cfg, o);
        decl::<p::Source>(&cfg, o);
        decl::<p::Contact>(&cfg, o);
        decl::<p::Score>(&cfg, o);
        decl::<p::ScoreItem>(&cfg, o);
        decl::<p::QuizAnswer>(&cfg, o);
        decl::<p::Behaviour>(&cfg, o);
        decl::<p::Intent>(&cfg, o);
        decl::<p::Assignment>(&cfg, o);
        decl::<p::AssignmentOutcome>(&cfg, o);
        decl::<p::ReturnedToMarketing>(&cfg, o);
        decl::<p::DecisionKind>(&cfg, o);
        decl::<p::TakeAwayReason>(&cfg, o);
        decl::<p::RejectReason>(&cfg, o);
        decl::<p::Availability>(&cfg, o);
        decl::<p::Timestamp>(&cfg, o);
        decl::<p::Role>(&cfg, o);
        decl::<ReviewData>(&cfg, o);
        decl::<ReviewQuery>(&cfg, o);
        decl::<ReviewTable>(&cfg, o);
        decl::<ReviewLead>(&cfg, o);
        decl::<p::LeadHistory>(&cfg, o);
        decl::<p::LeadEvent>(&cfg, o);
        decl::<p::LeadEventKind>(&cfg, o);
        decl::<p::Decision>(&cfg, o);
        decl::<p::QueuedLead>(&cfg, o);
        decl::<p::HandoffReport>(&cfg, o);
        decl::<p::ReportRow>(&cfg, o);
        decl::<p::ReasonRow>(&cfg, o);
        decl::<p::ReasonSplit>(&cfg, o);
        decl::<p::DailyRow>(&cfg, o);
        decl::<p::QueueWaitRow>(&cfg, o);
        decl::<p::FairnessRow>(&cfg, o);
        decl::<p::FeedbackLogEntry>(&cfg, o);
        decl::<p::CalibrationReport>(&cfg, o);
        decl::<p::CalibrationBand>(&cfg, o);
        decl::<p::ThresholdSuggestion>(&cfg, o);
        decl::<p::SourceCalibration>(&cfg, o);
        decl::<FailureQuery>(&cfg, o);
        decl::<p::IntakeReceiptList>(&cfg, o);
        decl::<p::IntakeReceipt>(&cfg, o);
        decl::<p::ReceiptStatus>(&cfg, o);
        decl::<p::IntakeOutcome>(&cfg, o);
        decl::<p::SourceIntakeResponse>(&cfg, o);
        decl::<p::SourceOutcome>(&cfg, o);
        decl::<p::EventType>(&cfg, o);
        decl::<p::NewWebhook>(&cfg, o);
        decl::<WebhookCreation>(&cfg, o);
        decl::<p::WebhookList>(&cfg, o);
        decl::<p::WebhookEndpoint>(&cfg, o);
        decl::<p::EndpointKind>(&cfg, o);
        decl::<p::WebhookDeliveryList>(&cfg, o);
        decl::<p::WebhookDelivery>(&cfg, o);
        decl::<p::DeliveryStatus>(&cfg, o);
        decl::<ImportOptions>(&cfg, o);
        decl::<ColumnMapping>(&cfg, o);
        decl::<ImportField>(&cfg, o);
        decl::<CsvImport>(&cfg, o);
        decl::<p::ImportSummary>(&cfg, o);
        decl::<p::ImportColumn>(&cfg, o);
        decl::<p::ImportRefusal>(&cfg, o);
        decl::<FormAnswer<()>>(&cfg, o);
        decl::<LeadContext>(&cfg, o);
        decl::<WhyView>(&cfg, o);
        decl::<ConsideredView>(&cfg, o);
        decl::<p::Qualification>(&cfg, o);
        decl::<p::Opener>(&cfg, o);
        decl::<p::RoutingExplanation>(&cfg, o);
        decl::<p::ConsideredRep>(&cfg, o);
        decl::<p::SkipReason>(&cfg, o);
        decl::<p::AccountMatch>(&cfg, o);
        decl::<p::Definition>(&cfg, o);
        decl::<p::Criterion>(&cfg, o);
        decl::<p::CriterionKind>(&cfg, o);
        decl::<p::DefinitionDraft>(&cfg, o);
        decl::<p::DefinitionList>(&cfg, o);
        decl::<p::PreviewRequest>(&cfg, o);
        decl::<p::DefinitionPreview>(&cfg, o);
        decl::<p::VersionOutcomes>(&cfg, o);
        decl::<p::VersionOutcome>(&cfg, o);
        decl::<ScheduleView>(&cfg, o);
        decl::<p::WorkSchedule>(&cfg, o);
        decl::<p::WorkingHours>(&cfg, o);
        decl::<p::Weekday>(&cfg, o);
        decl::<p::Absence>(&cfg, o);
        decl::<TeamOverview>(&cfg, o);
        decl::<p::Team>(&cfg, o);
        decl::<p::Rep>(&cfg, o);
        decl::<p::Manager>(&cfg, o);
        decl::<p::NewRep>(&cfg, o);
        decl::<p::RepCreated>(&cfg, o);
        decl::<p::RepUpdate>(&cfg, o);
        decl::<p::ManagerList>(&cfg, o);
        decl::<p::ManagerScope>(&cfg, o);
        decl::<p::AuditLog>(&cfg, o);
        decl::<p::AuditEntry>(&cfg, o);
        decl::<baton_core::updates::UpdateNotice>(&cfg, o);
        decl::<p::PackageFormat>(&cfg, o);
        decl::<crate::updates::UpdateLink>(&cfg, o);
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }

    #[test]
    fn bindings_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let fresh = render();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).expect("write ui/src/bindings.ts");
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == fresh,
            "ui/src/bindings.ts is out of date with the Rust types: run \
             `UPDATE_BINDINGS=1 cargo test -p baton-desktop bindings` and commit it"
        );
    }
}
