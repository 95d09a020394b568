-- Product ids become text: YML offer ids ("AB12cd") and 1C codes
-- ("00000085340_1") as well as Bitrix element ids, which keep their digits
-- (888888 becomes '888888'). SQLite cannot change a column's type, so each
-- table with a product_id is rebuilt, its rows copied, in this migration's
-- transaction.

CREATE TABLE products_new (
    shop_id        INTEGER NOT NULL,
    product_id     TEXT    NOT NULL,
    title          TEXT    NOT NULL DEFAULT '',
    price_minor    INTEGER,
    currency       TEXT,
    price_raw      TEXT    NOT NULL DEFAULT '',
    height_cm      REAL,
    height_raw     TEXT    NOT NULL DEFAULT '',
    is_available   INTEGER NOT NULL DEFAULT 1,
    image_url      TEXT    NOT NULL DEFAULT '',
    extra          TEXT    NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    index_state    TEXT    NOT NULL DEFAULT 'pending',
    index_error    TEXT    NOT NULL DEFAULT '',
    indexed_at     INTEGER,
    image_sha256   TEXT    NOT NULL DEFAULT '',
    model          TEXT    NOT NULL DEFAULT '',
    generation     INTEGER NOT NULL DEFAULT 0,
    source_version INTEGER,
    PRIMARY KEY (shop_id, product_id)
) WITHOUT ROWID;

INSERT INTO products_new (shop_id, product_id, title, price_minor, currency, price_raw, height_cm, height_raw,
    is_available, image_url, extra, created_at, updated_at, deleted_at, index_state, index_error,
    indexed_at, image_sha256, model, generation, source_version)
SELECT shop_id, CAST(product_id AS TEXT), title, price_minor, currency, price_raw, height_cm, height_raw,
    is_available, image_url, extra, created_at, updated_at, deleted_at, index_state, index_error,
    indexed_at, image_sha256, model, generation, source_version
FROM products;

DROP TABLE products;
ALTER TABLE products_new RENAME TO products;
CREATE INDEX products_state ON products (index_state) WHERE deleted_at IS NULL;

CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY,
    shop_id     INTEGER NOT NULL,
    product_id  TEXT    NOT NULL,
    generation  INTEGER NOT NULL,
    state       TEXT    NOT NULL, -- available | running | failed
    attempt     INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    lease_until INTEGER,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (shop_id, product_id)
);

INSERT INTO jobs_new (id, shop_id, product_id, generation, state, attempt, run_at, lease_until, last_error, created_at, updated_at)
SELECT id, shop_id, CAST(product_id AS TEXT), generation, state, attempt, run_at, lease_until, last_error, created_at, updated_at
FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs (state, run_at);

CREATE TABLE webhook_deliveries_new (
    id                TEXT    PRIMARY KEY,
    shop_id           INTEGER NOT NULL,
    product_id        TEXT    NOT NULL,
    action            TEXT    NOT NULL,
    reindex_triggered INTEGER NOT NULL,
    changed           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO webhook_deliveries_new (id, shop_id, product_id, action, reindex_triggered, changed, created_at)
SELECT id, shop_id, CAST(product_id AS TEXT), action, reindex_triggered, changed, created_at
FROM webhook_deliveries;

DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
