-- The qualification definitions this client has seen, by version. A version
-- never changes once published, so a cached one is never fetched again:
-- a lead's "Qualified under definition vN" and its "How to open" lines read
-- it from here, offline too.
CREATE TABLE definitions (
    version    INTEGER PRIMARY KEY,
    definition TEXT NOT NULL,                     -- baton_protocol::Definition, JSON
    fetched_at INTEGER NOT NULL
);
