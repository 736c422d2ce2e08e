-- baton-server schema, version 3: the report rollups also per calendar month.
--
-- A year of daily rows is some 500,000 (reasons and scores above all); a
-- report over months reads these instead, and the daily rows only for the
-- partial months at its edges and for the day-by-day trend. `day` is the
-- month's first day (days since 1970-01-01, UTC). Offers of every grouping
-- ('all') stay daily only. baton-server fills these from the rows when this
-- migration runs.
CREATE TABLE report_offers_monthly (
    day         INTEGER NOT NULL,
    team        TEXT NOT NULL,
    dim         TEXT NOT NULL CHECK (dim IN ('rep', 'source', 'campaign', 'band')),
    key         TEXT NOT NULL,
    assigned    INTEGER NOT NULL DEFAULT 0,
    accepted    INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    sla_expired INTEGER NOT NULL DEFAULT 0,
    speed       BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY (day, team, dim, key)
) WITHOUT ROWID;

CREATE TABLE report_reasons_monthly (
    day        INTEGER NOT NULL,
    team       TEXT NOT NULL,
    dim        TEXT NOT NULL CHECK (dim IN ('rep', 'source')),
    key        TEXT NOT NULL,
    reason     TEXT NOT NULL,
    rejections INTEGER NOT NULL,
    PRIMARY KEY (day, team, dim, key, reason)
) WITHOUT ROWID;

CREATE TABLE report_scores_monthly (
    day      INTEGER NOT NULL,
    team     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    score    INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    PRIMARY KEY (day, team, channel, score)
) WITHOUT ROWID;

CREATE TABLE report_lead_scores_monthly (
    day   INTEGER NOT NULL,
    team  TEXT NOT NULL,
    score INTEGER NOT NULL,
    leads INTEGER NOT NULL,
    PRIMARY KEY (day, team, score)
) WITHOUT ROWID;
