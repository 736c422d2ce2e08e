-- baton-server schema, version 7: outbound events (Standard Webhooks) and
-- their deliveries.
--
-- An event row is written in the same transaction as the change it
-- reports, with one delivery row per active endpoint subscribed to its
-- type; nothing is written when no endpoint subscribes. The delivery
-- worker sends due deliveries, oldest first per endpoint and lead, and
-- records each attempt.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    -- webhook: a manager's Standard Webhooks endpoint; hubspot, salesforce:
    -- the CRM owner write-back the config defines (one of each at most).
    kind            TEXT NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'hubspot', 'salesforce')),
    url             TEXT NOT NULL,
    -- Only events of leads from this source (the CRM's own leads).
    source_filter   TEXT,
    -- The signing secret, whsec_ + base64: needed to sign, so stored as is.
    secret          TEXT NOT NULL,
    description     TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    disabled_at     INTEGER,
    disabled_reason TEXT,
    deleted_at      INTEGER,
    failing_since   INTEGER,
    last_success_at INTEGER,
    created_at      INTEGER NOT NULL
);

CREATE TABLE webhook_subscriptions (
    event_type  TEXT NOT NULL,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id),
    PRIMARY KEY (event_type, endpoint_id)
);

CREATE TABLE outbound_events (
    id          INTEGER PRIMARY KEY,
    type        TEXT NOT NULL,
    lead_id     INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    payload     TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints(id),
    event_id        INTEGER NOT NULL REFERENCES outbound_events(id),
    lead_id         INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, lead_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
