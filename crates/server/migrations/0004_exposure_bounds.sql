-- baton-server schema, version 4: what bounding hostile traffic needs.

-- Each feed entry's kind and lead, so that a newer lead_updated entry can
-- replace the older ones for the same lead (sync pages stay small however
-- often marketing re-pushes a lead).
ALTER TABLE feed ADD COLUMN kind TEXT;
ALTER TABLE feed ADD COLUMN lead_id INTEGER;
UPDATE feed SET
    kind = json_extract(change, '$.type'),
    lead_id = COALESCE(json_extract(change, '$.lead.id'),
                       json_extract(change, '$.lead_id'),
                       json_extract(change, '$.decision.lead_id'));
CREATE INDEX feed_updates ON feed(rep_id, lead_id) WHERE kind = 'lead_updated';

-- Intake keys are issued for a source; a key writes only its source's leads.
-- Existing keys keep their label as their source; existing leads have none
-- yet, and the next key to update one claims it.
ALTER TABLE tokens ADD COLUMN source TEXT;
UPDATE tokens SET source = label WHERE role = 'intake';
ALTER TABLE leads ADD COLUMN intake_source TEXT;

-- Retention: stored feedback answers expire by age; a lead keeps a bounded
-- number of "updated" history entries.
CREATE INDEX idempotency_age ON idempotency(created_at);
CREATE INDEX lead_events_kind ON lead_events(lead_id, kind, id);
