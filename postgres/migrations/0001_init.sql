-- The PostgreSQL schema: the same tables and columns as SQLite's after all
-- of sqlite/migrations (see store/driver.go for the type rules). Integers
-- are bigint (times in microseconds, flags 0/1), vectors bytea of
-- little-endian float32s (pgvector is not needed), product ids text in the
-- "C" collation so that they sort byte by byte, as in SQLite.

CREATE TABLE products (
    shop_id        bigint NOT NULL,
    product_id     text COLLATE "C" NOT NULL,
    title          text   NOT NULL DEFAULT '',
    price_minor    bigint,
    currency       text,
    price_raw      text   NOT NULL DEFAULT '',
    height_cm      double precision,
    height_raw     text   NOT NULL DEFAULT '',
    is_available   bigint NOT NULL DEFAULT 1,
    image_url      text   NOT NULL DEFAULT '',
    extra          text   NOT NULL DEFAULT '{}',
    created_at     bigint NOT NULL,
    updated_at     bigint NOT NULL,
    deleted_at     bigint,
    index_state    text   NOT NULL DEFAULT 'pending',
    index_error    text   NOT NULL DEFAULT '',
    indexed_at     bigint,
    image_sha256   text   NOT NULL DEFAULT '',
    model          text   NOT NULL DEFAULT '',
    generation     bigint NOT NULL DEFAULT 0,
    source_version bigint,
    PRIMARY KEY (shop_id, product_id)
);

CREATE INDEX products_state ON products (index_state) WHERE deleted_at IS NULL;

-- Several photos per product: the main one (position 0), then the gallery.
CREATE TABLE product_images (
    shop_id    bigint NOT NULL,
    product_id text COLLATE "C" NOT NULL,
    position   bigint NOT NULL,
    url        text   NOT NULL,
    sha256     text   NOT NULL DEFAULT '',
    state      text   NOT NULL,
    error      text   NOT NULL DEFAULT '',
    transient  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, product_id, position)
);

CREATE INDEX product_images_sha ON product_images (sha256) WHERE sha256 != '';

-- One vector per distinct image and model.
CREATE TABLE embeddings (
    image_sha256 text   NOT NULL,
    model        text   NOT NULL,
    dim          bigint NOT NULL,
    vector       bytea  NOT NULL,
    created_at   bigint NOT NULL,
    PRIMARY KEY (image_sha256, model)
);

-- The durable reindex queue: at most one job per product, coalesced.
CREATE TABLE jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id     bigint NOT NULL,
    product_id  text COLLATE "C" NOT NULL,
    generation  bigint NOT NULL,
    state       text   NOT NULL, -- available | running | failed
    attempt     bigint NOT NULL DEFAULT 0,
    run_at      bigint NOT NULL,
    lease_until bigint,
    last_error  text   NOT NULL DEFAULT '',
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    transient   bigint NOT NULL DEFAULT 0,
    UNIQUE (shop_id, product_id)
);

CREATE INDEX jobs_ready ON jobs (state, run_at);

-- Webhook deliveries already applied, by their webhook-id, with the reply given.
CREATE TABLE webhook_deliveries (
    id                text   PRIMARY KEY,
    shop_id           bigint NOT NULL,
    product_id        text COLLATE "C" NOT NULL,
    action            text   NOT NULL,
    reindex_triggered bigint NOT NULL,
    changed           bigint NOT NULL,
    created_at        bigint NOT NULL
);

CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

-- Service-wide settings, such as the model in service.
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- The change feed. A sequence is not commit-ordered (a transaction may draw
-- a number, and commit after one that drew a higher number), so seq is made
-- from the writing transaction's id instead: seq = xid << 20 | n, n counting
-- the transaction's change rows. Every transaction whose xid is below
-- pg_snapshot_xmin(pg_current_snapshot()) has ended, so every seq below
-- xmin << 20 is final: the driver's FeedHorizon, which a reader never reads
-- past. A transaction may write at most 2^20 change rows.
CREATE TABLE changes (
    seq        bigint PRIMARY KEY,
    shop_id    bigint NOT NULL,
    product_id text COLLATE "C" NOT NULL,
    at         bigint NOT NULL,
    xid        xid8   NOT NULL
);

CREATE INDEX changes_at ON changes (at);

CREATE FUNCTION changes_seq() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint := coalesce(nullif(current_setting('lookalike.changes_n', true), ''), '0')::bigint;
BEGIN
    IF n >= 1048576 THEN
        RAISE EXCEPTION 'a transaction may record at most 1048576 changes';
    END IF;
    PERFORM set_config('lookalike.changes_n', (n + 1)::text, true);
    NEW.xid := pg_current_xact_id();
    NEW.seq := (NEW.xid::text::bigint << 20) | n;
    RETURN NEW;
END $$;

CREATE TRIGGER changes_seq BEFORE INSERT ON changes FOR EACH ROW EXECUTE FUNCTION changes_seq();
