-- Facts about the database that are not rows of the domain: whether the
-- report rollups must be filled again from the rows (`rollups_stale`), which
-- the server does at start-up through the storage interface.
CREATE TABLE storage_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
