-- The shared definition of a qualified lead, every published version kept;
-- the highest version is in force (issue 14).
CREATE TABLE definitions (
    version      INTEGER PRIMARY KEY,
    threshold    INTEGER NOT NULL,
    criteria     TEXT NOT NULL,      -- JSON: [Criterion]
    reasons      TEXT NOT NULL,      -- JSON: [RejectReason]
    effective_at INTEGER NOT NULL,
    author       TEXT NOT NULL,
    note         TEXT NOT NULL,
    changes      TEXT NOT NULL,      -- JSON: [String]
    -- For versions taken from the server's config file: a hash of what the
    -- file said, so that only an edit of the file publishes a new one.
    config_hash  TEXT
);

-- The version a lead was qualified (or not) under, and its threshold.
ALTER TABLE leads ADD COLUMN definition_version INTEGER;
ALTER TABLE leads ADD COLUMN definition_threshold INTEGER;

-- What routing weighed (JSON RoutingExplanation), the lead's account for
-- matching later leads of the same company, and when to remind the rep.
-- (An offer may also end 'withdrawn' from here on: store/sqlite.rs,
-- allow_withdrawn_offers, widens the CHECK on outcome.)
ALTER TABLE assignments ADD COLUMN explanation TEXT;
ALTER TABLE assignments ADD COLUMN account_key TEXT;
ALTER TABLE assignments ADD COLUMN remind_at INTEGER;
CREATE INDEX assignments_account ON assignments(account_key, assigned_at)
    WHERE account_key IS NOT NULL;
CREATE INDEX assignments_remind ON assignments(remind_at) WHERE remind_at IS NOT NULL;

-- Working hours and absences (JSON WorkSchedule), and deactivation.
ALTER TABLE reps ADD COLUMN schedule TEXT;
ALTER TABLE reps ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));

-- Managers are admins (every team) unless scoped to teams.
ALTER TABLE managers ADD COLUMN admin INTEGER NOT NULL DEFAULT 1 CHECK (admin IN (0, 1));
CREATE TABLE manager_teams (
    manager_id INTEGER NOT NULL REFERENCES managers(id),
    team       TEXT NOT NULL,
    PRIMARY KEY (manager_id, team)
) WITHOUT ROWID;

-- Administrative changes, for the record.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
);

-- Offers whose SLA ran out, for the team's managers to be told.
CREATE TABLE escalations (
    id            INTEGER PRIMARY KEY,
    lead_id       INTEGER NOT NULL,
    assignment_id INTEGER NOT NULL,
    rep_id        INTEGER NOT NULL,
    team          TEXT NOT NULL,
    lead_name     TEXT NOT NULL,
    at            INTEGER NOT NULL,
    sla_due_at    INTEGER NOT NULL
);
CREATE INDEX escalations_team ON escalations(team, id);
