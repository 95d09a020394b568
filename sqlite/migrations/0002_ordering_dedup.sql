-- The version (or TIMESTAMP_X) of the newest event applied to a product:
-- an older event never overwrites a newer state.
ALTER TABLE products ADD COLUMN source_version INTEGER;

-- Webhook deliveries already applied, by their webhook-id, with the reply
-- given: a redelivery gets the same reply and has no effect.
CREATE TABLE webhook_deliveries (
    id                TEXT    PRIMARY KEY,
    shop_id           INTEGER NOT NULL,
    product_id        INTEGER NOT NULL,
    action            TEXT    NOT NULL,
    reindex_triggered INTEGER NOT NULL,
    changed           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
