-- baton-server schema, version 2: reports that stay fast over a year.
--
-- Each offer keeps the lead's score, source and campaign as they were when
-- it was made, so an offer's figures never move when marketing later
-- updates the lead.
ALTER TABLE assignments ADD COLUMN score INTEGER;
ALTER TABLE assignments ADD COLUMN channel TEXT;
ALTER TABLE assignments ADD COLUMN campaign TEXT;
UPDATE assignments SET
    score    = (SELECT l.score FROM leads l WHERE l.id = assignments.lead_id),
    channel  = (SELECT l.channel FROM leads l WHERE l.id = assignments.lead_id),
    campaign = (SELECT json_extract(l.payload, '$.source.campaign') FROM leads l WHERE l.id = assignments.lead_id);

-- Per-UTC-day rollups, kept in the same transaction as the offers and
-- decisions they count (baton-server fills them from the rows above once
-- the schema reaches version 3). `day` is days since 1970-01-01 of the offer
-- (assigned_at) or, for lead_scores, of the lead's receipt.

-- Offers by one grouping at a time: dim 'all' (key ''), 'rep' (rep id),
-- 'source' (channel), 'campaign' ('' for none), 'band' ('60-69').
-- `speed` holds the decision-time histogram and the quantile sketches.
CREATE TABLE report_offers (
    day         INTEGER NOT NULL,
    team        TEXT NOT NULL,
    dim         TEXT NOT NULL CHECK (dim IN ('all', 'rep', 'source', 'campaign', 'band')),
    key         TEXT NOT NULL,
    assigned    INTEGER NOT NULL DEFAULT 0,
    accepted    INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    sla_expired INTEGER NOT NULL DEFAULT 0,
    speed       BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY (day, team, dim, key)
) WITHOUT ROWID;

-- Rejections by reason within a rep's ('rep') or a source's ('source') offers.
CREATE TABLE report_reasons (
    day        INTEGER NOT NULL,
    team       TEXT NOT NULL,
    dim        TEXT NOT NULL CHECK (dim IN ('rep', 'source')),
    key        TEXT NOT NULL,
    reason     TEXT NOT NULL,
    rejections INTEGER NOT NULL,
    PRIMARY KEY (day, team, dim, key, reason)
) WITHOUT ROWID;

-- Decided offers by exact score and source, for calibration.
CREATE TABLE report_scores (
    day      INTEGER NOT NULL,
    team     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    score    INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    PRIMARY KEY (day, team, channel, score)
) WITHOUT ROWID;

-- Leads received by score (team '' until routed), for calibration.
CREATE TABLE report_lead_scores (
    day   INTEGER NOT NULL,
    team  TEXT NOT NULL,
    score INTEGER NOT NULL,
    leads INTEGER NOT NULL,
    PRIMARY KEY (day, team, score)
) WITHOUT ROWID;

-- Each stay of a lead in a team's queue; `outcome` once it left:
-- 'assigned' (to a rep) or 'withdrawn' (back to marketing).
CREATE TABLE queue_waits (
    id        INTEGER PRIMARY KEY,
    lead_id   INTEGER NOT NULL REFERENCES leads(id),
    team      TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    left_at   INTEGER,
    outcome   TEXT CHECK (outcome IN ('assigned', 'withdrawn'))
);
CREATE INDEX queue_waits_time ON queue_waits(queued_at);
CREATE INDEX queue_waits_open ON queue_waits(lead_id) WHERE left_at IS NULL;
INSERT INTO queue_waits (lead_id, team, queued_at)
    SELECT id, team, queued_at FROM leads WHERE status = 'queued' AND queued_at IS NOT NULL;
CREATE INDEX leads_created ON leads(created_at);
