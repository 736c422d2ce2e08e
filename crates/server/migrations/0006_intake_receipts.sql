-- baton-server schema, version 6: deliveries from inbound sources
-- (Typeform, Tally, HubSpot, JSON webhooks at /v1/intake/{source}).
--
-- One row per provider event: (source, event_id) is unique, so a replayed
-- event is recognised and changes nothing. The raw body is kept for audit
-- (a lead keeps its newest bodies; older ones are set to NULL, the row
-- stays so the replay is still recognised). A delivery that could not be
-- mapped is 'failed' with the lead field at fault, until a manager retries
-- ('reprocessed') or dismisses it.
CREATE TABLE intake_receipts (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'failed', 'reprocessed', 'dismissed')),
    outcome     TEXT,
    lead_id     INTEGER REFERENCES leads(id),
    field       TEXT,
    message     TEXT,
    resolved_at INTEGER,
    body        BLOB,
    UNIQUE (source, event_id)
);
CREATE INDEX intake_receipts_lead ON intake_receipts(lead_id, id) WHERE lead_id IS NOT NULL;
CREATE INDEX intake_receipts_failed ON intake_receipts(id) WHERE status = 'failed';
