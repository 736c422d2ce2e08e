-- A decision is written at the keypress and waits in the outbox until its
-- undo window ends (`send_after`, ms since the epoch); undo deletes it
-- before then. Rows written before the window existed are due at once.
ALTER TABLE outbox ADD COLUMN send_after INTEGER NOT NULL DEFAULT 0;
-- Undo looks up the lead's pending decision.
CREATE INDEX outbox_by_lead ON outbox(lead_id, state);
