-- The replicas on the database, one row each, written by its heartbeat
-- every few seconds (a row not seen for a while is a replica gone), and
-- their per-minute request activity, so that any replica can show the
-- fleet's: counts and latency histogram buckets (hist: comma-separated
-- counts per bound of catalog.LatencyBoundsMS, then the overflow).
CREATE TABLE replicas (
    id            TEXT    PRIMARY KEY,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    addr          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    seen_at       INTEGER NOT NULL,
    feed_seq      INTEGER NOT NULL,
    feed_behind   INTEGER NOT NULL,
    index_vectors INTEGER NOT NULL
);

CREATE TABLE activity (
    replica_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    minute     INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    sum_ms     REAL    NOT NULL,
    max_ms     REAL    NOT NULL,
    hist       TEXT    NOT NULL,
    PRIMARY KEY (replica_id, kind, minute)
);

CREATE INDEX activity_minute ON activity (minute);
