-- baton-server's PostgreSQL schema, version 1: the same tables as the
-- SQLite schema at its version 5 (crates/server/migrations/0001-0005), in
-- PostgreSQL's types. Instants are BIGINT milliseconds since the Unix epoch
-- (UTC), as there. Not yet used by the server: the PostgreSQL backend that
-- applies it is issue 12's next step.

CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    sla_seconds BIGINT NOT NULL CHECK (sla_seconds > 0)
);

CREATE TABLE reps (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    team       TEXT NOT NULL,
    weight     INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 1000),
    max_open   INTEGER NOT NULL CHECK (max_open BETWEEN 1 AND 100000),
    available  BOOLEAN NOT NULL DEFAULT TRUE,
    -- Stride-scheduling position in the team's weighted round robin.
    rr_pass    BIGINT NOT NULL DEFAULT 0,
    open_leads INTEGER NOT NULL DEFAULT 0 CHECK (open_leads >= 0),
    created_at BIGINT NOT NULL
);
-- SQLite's COLLATE NOCASE: one rep per address, whatever its case.
CREATE UNIQUE INDEX reps_email ON reps (lower(email));
CREATE INDEX reps_team ON reps (team, available, rr_pass);

CREATE TABLE managers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX managers_email ON managers (lower(email));

-- Bearer tokens, stored as SHA-256 of the token.
CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'intake')),
    subject_id BIGINT,
    label      TEXT NOT NULL,
    source     TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE leads (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id        TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL CHECK (status IN ('nurture', 'queued', 'assigned', 'accepted')),
    payload            JSONB NOT NULL,
    payload_hash       BYTEA NOT NULL,
    score              INTEGER NOT NULL,
    channel            TEXT NOT NULL,
    team               TEXT,
    current_assignment BIGINT,
    queued_at          BIGINT,
    returned_reason    TEXT,
    returned_note      TEXT,
    returned_by        BIGINT,
    returned_at        BIGINT,
    version            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    intake_source      TEXT
);
CREATE INDEX leads_queue ON leads (team, queued_at) WHERE status = 'queued';
CREATE INDEX leads_status ON leads (status, id);
CREATE INDEX leads_created ON leads (created_at);

CREATE TABLE assignments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id     BIGINT NOT NULL REFERENCES leads (id),
    rep_id      BIGINT NOT NULL REFERENCES reps (id),
    team        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    why         TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    sla_due_at  BIGINT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT 'pending'
                CHECK (outcome IN ('pending', 'accepted', 'rejected', 'sla_expired')),
    ended_at    BIGINT,
    -- The lead's score, source and campaign when offered.
    score       INTEGER,
    channel     TEXT,
    campaign    TEXT
);
CREATE INDEX assignments_due ON assignments (sla_due_at) WHERE outcome = 'pending';
CREATE INDEX assignments_lead ON assignments (lead_id, rep_id);
CREATE INDEX assignments_time ON assignments (assigned_at);
CREATE INDEX assignments_rep ON assignments (rep_id, outcome);
-- A lead is offered to one rep at a time: at most one pending offer per lead.
CREATE UNIQUE INDEX assignments_one_pending ON assignments (lead_id) WHERE outcome = 'pending';

CREATE TABLE decisions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id       BIGINT NOT NULL REFERENCES leads (id),
    assignment_id BIGINT NOT NULL UNIQUE REFERENCES assignments (id),
    rep_id        BIGINT NOT NULL REFERENCES reps (id),
    decision      TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    reason        TEXT,
    note          TEXT,
    decided_at    BIGINT NOT NULL
);
CREATE INDEX decisions_time ON decisions (decided_at);
CREATE INDEX decisions_lead ON decisions (lead_id);

CREATE TABLE idempotency (
    rep_id       BIGINT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (rep_id, key)
);
CREATE INDEX idempotency_age ON idempotency (created_at);

-- Per-rep change feed. Sequence numbers come from `feed_heads`, one row per
-- rep, incremented in the writing transaction: its row lock makes the next
-- writer for that rep wait for the commit, so a reader that sees entry N of
-- a rep's feed can never later see a smaller one commit (a PostgreSQL
-- sequence could hand out N+1 to a transaction that commits first).
CREATE TABLE feed_heads (
    rep_id BIGINT PRIMARY KEY,
    seq    BIGINT NOT NULL
);
CREATE TABLE feed (
    rep_id  BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    change  TEXT NOT NULL,
    kind    TEXT,
    lead_id BIGINT,
    PRIMARY KEY (rep_id, seq)
);
CREATE INDEX feed_updates ON feed (rep_id, lead_id) WHERE kind = 'lead_updated';

CREATE TABLE lead_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id BIGINT NOT NULL REFERENCES leads (id),
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    rep_id  BIGINT,
    detail  TEXT NOT NULL
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, id);
CREATE INDEX lead_events_kind ON lead_events (lead_id, kind, id);

-- Report rollups, daily and monthly (see the SQLite migrations 0002-0003).
CREATE TABLE report_offers (
    day         INTEGER NOT NULL,
    team        TEXT NOT NULL,
    dim         TEXT NOT NULL CHECK (dim IN ('all', 'rep', 'source', 'campaign', 'band')),
    key         TEXT NOT NULL,
    assigned    BIGINT NOT NULL DEFAULT 0,
    accepted    BIGINT NOT NULL DEFAULT 0,
    rejected    BIGINT NOT NULL DEFAULT 0,
    sla_expired BIGINT NOT NULL DEFAULT 0,
    speed       BYTEA NOT NULL DEFAULT '\x',
    PRIMARY KEY (day, team, dim, key)
);
CREATE TABLE report_reasons (
    day        INTEGER NOT NULL,
    team       TEXT NOT NULL,
    dim        TEXT NOT NULL CHECK (dim IN ('rep', 'source')),
    key        TEXT NOT NULL,
    reason     TEXT NOT NULL,
    rejections BIGINT NOT NULL,
    PRIMARY KEY (day, team, dim, key, reason)
);
CREATE TABLE report_scores (
    day      INTEGER NOT NULL,
    team     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    score    INTEGER NOT NULL,
    accepted BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    PRIMARY KEY (day, team, channel, score)
);
CREATE TABLE report_lead_scores (
    day   INTEGER NOT NULL,
    team  TEXT NOT NULL,
    score INTEGER NOT NULL,
    leads BIGINT NOT NULL,
    PRIMARY KEY (day, team, score)
);
CREATE TABLE report_offers_monthly (LIKE report_offers INCLUDING ALL);
-- Monthly offers are by rep, source, campaign or band only ('all' is daily).
ALTER TABLE report_offers_monthly DROP CONSTRAINT IF EXISTS report_offers_dim_check;
ALTER TABLE report_offers_monthly ADD CONSTRAINT report_offers_monthly_dim_check
    CHECK (dim IN ('rep', 'source', 'campaign', 'band'));
CREATE TABLE report_reasons_monthly (LIKE report_reasons INCLUDING ALL);
CREATE TABLE report_scores_monthly (LIKE report_scores INCLUDING ALL);
CREATE TABLE report_lead_scores_monthly (LIKE report_lead_scores INCLUDING ALL);

CREATE TABLE queue_waits (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id   BIGINT NOT NULL REFERENCES leads (id),
    team      TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    left_at   BIGINT,
    outcome   TEXT CHECK (outcome IN ('assigned', 'withdrawn'))
);
CREATE INDEX queue_waits_time ON queue_waits (queued_at);
CREATE INDEX queue_waits_open ON queue_waits (lead_id) WHERE left_at IS NULL;

CREATE TABLE storage_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
