-- baton-core local cache, version 1. One file per profile.
-- Instants are INTEGER milliseconds since the Unix epoch (UTC).

-- The rep's leads as the server last described them, plus local decisions.
CREATE TABLE leads (
    id              INTEGER PRIMARY KEY,          -- the server's lead id
    external_id     TEXT NOT NULL,
    -- new: awaiting the rep's decision; accepted; rejected; taken_away: left
    -- the rep's hands without their decision (SLA) or their decision was refused.
    status          TEXT NOT NULL CHECK (status IN ('new', 'accepted', 'rejected', 'taken_away')),
    server_version  INTEGER NOT NULL,
    assignment_id   INTEGER,
    assigned_at     INTEGER,
    sla_due_at      INTEGER,
    score           INTEGER NOT NULL,
    name            TEXT NOT NULL,
    company         TEXT,
    email           TEXT,
    title           TEXT,
    channel         TEXT NOT NULL,
    lead_json       BLOB NOT NULL,                -- the full baton_protocol::Lead, JSON, LZ4 (store.rs: pack_lead)
    -- The rep's own decision, once made here or reported by the server.
    decision        TEXT CHECK (decision IN ('accept', 'reject')),
    decision_reason TEXT,
    decision_note   TEXT,
    decided_at      INTEGER,
    -- pending: in the outbox; confirmed: the server recorded it;
    -- refused: the server refused it (lead no longer the rep's).
    decision_state  TEXT CHECK (decision_state IN ('pending', 'confirmed', 'refused')),
    refused_message TEXT,
    taken_away_reason TEXT,
    taken_away_at   INTEGER,
    -- The assignment whose notification (and SLA reminder) was raised, so
    -- neither is raised twice; kept on the row to spare an insert per lead.
    notified_assignment INTEGER,
    reminded_assignment INTEGER,
    updated_at      INTEGER NOT NULL
);
-- The inbox, one index for every list: new leads most urgent (earliest SLA)
-- first; decided and taken-away leads newest first, read backwards (a rep's
-- SLA deadlines are their assignment times plus their team's SLA); "all" by
-- lead id, newest first, from the primary key.
CREATE INDEX leads_inbox ON leads(status, sla_due_at);

-- Full-text search over what a rep remembers of a lead: name, company,
-- email, title, quiz answers (not the questions: every lead shares them) and
-- notes. rowid = lead id. Contentless (the text lives in `leads`) with
-- deletes by rowid; detail=none keeps the index small and inserts fast, and
-- queries are single-token terms, which it supports.
CREATE VIRTUAL TABLE leads_fts USING fts5(
    name, company, email, title, quiz, notes,
    tokenize = 'unicode61 remove_diacritics 2',
    detail = none,
    content = '',
    contentless_delete = 1
);
-- The index's vocabulary: lets a search expand a prefix into the few exact
-- tokens it matches, which FTS5 reads lazily (a prefix query reads them all).
-- Segments are merged once after a large pull ('optimize') and by FTS5's
-- crisis merge otherwise, not after every page of a first sync.
INSERT INTO leads_fts (leads_fts, rank) VALUES ('automerge', 0);
CREATE VIRTUAL TABLE leads_fts_vocab USING fts5vocab(leads_fts, 'row');

-- What happened to each lead, as this client saw it.
CREATE TABLE lead_history (
    id      INTEGER PRIMARY KEY,
    lead_id INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX lead_history_lead ON lead_history(lead_id, id);

-- Writes waiting to reach the server, in order.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('feedback', 'availability')),
    lead_id         INTEGER,
    body            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'refused')),
    answer          TEXT
);
CREATE INDEX outbox_pending ON outbox(state, id);

-- Small settings and the sync position: cursor, last success, last error.
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
