-- Several photos per product: the main one (position 0), then the gallery.
-- Each photo has its own state; its vector is the embedding of its bytes'
-- hash and the product's model. products.image_url stays the main photo's
-- URL and products.image_sha256 the first indexed photo's hash.
CREATE TABLE product_images (
    shop_id    INTEGER NOT NULL,
    product_id TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    url        TEXT    NOT NULL,
    sha256     TEXT    NOT NULL DEFAULT '', -- of the bytes its vector was made from; '' until indexed
    state      TEXT    NOT NULL,            -- pending | indexed | failed
    error      TEXT    NOT NULL DEFAULT '',
    transient  INTEGER NOT NULL DEFAULT 0,  -- failed on a temporary error that ran out of attempts
    PRIMARY KEY (shop_id, product_id, position)
) WITHOUT ROWID;

CREATE INDEX product_images_sha ON product_images (sha256) WHERE sha256 != '';

-- Each product's single photo becomes its main photo, in the state the
-- product had.
INSERT INTO product_images (shop_id, product_id, position, url, sha256, state, error, transient)
SELECT p.shop_id, p.product_id, 0, p.image_url,
    CASE WHEN p.index_state = 'indexed' THEN p.image_sha256 ELSE '' END,
    CASE WHEN p.index_state IN ('indexed', 'failed') THEN p.index_state ELSE 'pending' END,
    p.index_error,
    coalesce((SELECT j.transient FROM jobs j WHERE j.shop_id = p.shop_id AND j.product_id = p.product_id AND j.state = 'failed'), 0)
FROM products p WHERE p.image_url != '';
