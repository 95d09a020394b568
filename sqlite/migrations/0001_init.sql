-- Products as the CMS last described them, plus where each stands in the index.
CREATE TABLE products (
    shop_id      INTEGER NOT NULL,
    product_id   INTEGER NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    price_minor  INTEGER,
    currency     TEXT,
    price_raw    TEXT    NOT NULL DEFAULT '',
    height_cm    REAL,
    height_raw   TEXT    NOT NULL DEFAULT '',
    is_available INTEGER NOT NULL DEFAULT 1,
    image_url    TEXT    NOT NULL DEFAULT '',
    extra        TEXT    NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER,
    index_state  TEXT    NOT NULL DEFAULT 'pending',
    index_error  TEXT    NOT NULL DEFAULT '',
    indexed_at   INTEGER,
    image_sha256 TEXT    NOT NULL DEFAULT '',
    model        TEXT    NOT NULL DEFAULT '',
    generation   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, product_id)
) WITHOUT ROWID;

CREATE INDEX products_state ON products (index_state) WHERE deleted_at IS NULL;

-- One vector per distinct image and model: the same bytes are never embedded twice.
CREATE TABLE embeddings (
    image_sha256 TEXT    NOT NULL,
    model        TEXT    NOT NULL,
    dim          INTEGER NOT NULL,
    vector       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (image_sha256, model)
) WITHOUT ROWID;

-- The durable reindex queue: at most one job per product, coalesced.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    shop_id     INTEGER NOT NULL,
    product_id  INTEGER NOT NULL,
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

CREATE INDEX jobs_ready ON jobs (state, run_at);
