-- baton-server schema, version 1.
-- Instants are INTEGER milliseconds since the Unix epoch (UTC).

-- Teams as the routing config last defined them (the config file is the source of truth).
CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    sla_seconds INTEGER NOT NULL CHECK (sla_seconds > 0)
) WITHOUT ROWID;

CREATE TABLE reps (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    team       TEXT NOT NULL,
    weight     INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 1000),
    max_open   INTEGER NOT NULL CHECK (max_open BETWEEN 1 AND 100000),
    available  INTEGER NOT NULL DEFAULT 1 CHECK (available IN (0, 1)),
    -- Stride-scheduling position in the team's weighted round robin: the
    -- eligible rep with the lowest pass gets the next lead, then advances by
    -- STRIDE / weight.
    rr_pass    INTEGER NOT NULL DEFAULT 0,
    -- Pending assignments; kept in the same transaction as the assignments.
    open_leads INTEGER NOT NULL DEFAULT 0 CHECK (open_leads >= 0),
    created_at INTEGER NOT NULL
);
CREATE INDEX reps_team ON reps(team, available, rr_pass);

CREATE TABLE managers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

-- Bearer tokens, stored as SHA-256 of the token; the token itself is shown once.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'intake')),
    subject_id INTEGER,
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;

CREATE TABLE leads (
    id                 INTEGER PRIMARY KEY,
    external_id        TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL CHECK (status IN ('nurture', 'queued', 'assigned', 'accepted')),
    -- The intake payload (source, contact, score, quiz, behaviours, intent) as JSON.
    payload            TEXT NOT NULL,
    payload_hash       BLOB NOT NULL,
    score              INTEGER NOT NULL,
    channel            TEXT NOT NULL,
    team               TEXT,
    current_assignment INTEGER,
    queued_at          INTEGER,
    returned_reason    TEXT,
    returned_note      TEXT,
    returned_by        INTEGER,
    returned_at        INTEGER,
    version            INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX leads_queue ON leads(team, queued_at) WHERE status = 'queued';
CREATE INDEX leads_status ON leads(status, id);

CREATE TABLE assignments (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads(id),
    rep_id      INTEGER NOT NULL REFERENCES reps(id),
    team        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    why         TEXT NOT NULL,
    assigned_at INTEGER NOT NULL,
    sla_due_at  INTEGER NOT NULL,
    outcome     TEXT NOT NULL DEFAULT 'pending'
                CHECK (outcome IN ('pending', 'accepted', 'rejected', 'sla_expired')),
    ended_at    INTEGER
);
CREATE INDEX assignments_due ON assignments(sla_due_at) WHERE outcome = 'pending';
CREATE INDEX assignments_lead ON assignments(lead_id, rep_id);
CREATE INDEX assignments_time ON assignments(assigned_at);
CREATE INDEX assignments_rep ON assignments(rep_id, outcome);

CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY,
    lead_id       INTEGER NOT NULL REFERENCES leads(id),
    assignment_id INTEGER NOT NULL UNIQUE REFERENCES assignments(id),
    rep_id        INTEGER NOT NULL REFERENCES reps(id),
    decision      TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    reason        TEXT,
    note          TEXT,
    decided_at    INTEGER NOT NULL
);
CREATE INDEX decisions_time ON decisions(decided_at);
CREATE INDEX decisions_lead ON decisions(lead_id);

-- The first answer to each (rep, Idempotency-Key), replayed on retries.
CREATE TABLE idempotency (
    rep_id       INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (rep_id, key)
) WITHOUT ROWID;

-- Per-rep change feed. AUTOINCREMENT: a sequence number is never reused, so a
-- client's cursor can never point at a different entry after a delete.
CREATE TABLE feed (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    rep_id INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX feed_rep ON feed(rep_id, seq);

-- A lead's history, for the lead view and audits.
CREATE TABLE lead_events (
    id      INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL REFERENCES leads(id),
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    rep_id  INTEGER,
    detail  TEXT NOT NULL
);
CREATE INDEX lead_events_lead ON lead_events(lead_id, id);
