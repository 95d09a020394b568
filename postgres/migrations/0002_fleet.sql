-- The replicas on the database and their per-minute request activity: the
-- same tables as sqlite/migrations/0008_fleet.sql.
CREATE TABLE replicas (
    id            text   PRIMARY KEY,
    host          text   NOT NULL,
    pid           bigint NOT NULL,
    addr          text   NOT NULL,
    version       text   NOT NULL,
    model         text   NOT NULL,
    started_at    bigint NOT NULL,
    seen_at       bigint NOT NULL,
    feed_seq      bigint NOT NULL,
    feed_behind   bigint NOT NULL,
    index_vectors bigint NOT NULL
);

CREATE TABLE activity (
    replica_id text   NOT NULL,
    kind       text   NOT NULL,
    minute     bigint NOT NULL,
    count      bigint NOT NULL,
    errors     bigint NOT NULL,
    sum_ms     double precision NOT NULL,
    max_ms     double precision NOT NULL,
    hist       text   NOT NULL,
    PRIMARY KEY (replica_id, kind, minute)
);

CREATE INDEX activity_minute ON activity (minute);
