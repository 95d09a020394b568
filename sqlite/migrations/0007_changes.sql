-- The change feed: one row per change to a product's searchable state,
-- written in the transaction of the change. AUTOINCREMENT: a seq is never
-- handed out twice, even after old rows are pruned.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id    INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    at         INTEGER NOT NULL
);

CREATE INDEX changes_at ON changes (at);
