-- Up Migration

-- Catalog changes without the generation's exclusive lock (README "Partition-parallel writes").
-- A transaction that changes a product, price, coupon or discount appends one row per entry; the
-- supervisor, once every slot's transaction that was open at that commit has ended, asks the
-- slots of every customer that references the entry to derive it again. Appended without a
-- unique key, as derive requests are (0009): an insert waits for no other transaction.
CREATE TABLE catalog_request (
  id bigserial PRIMARY KEY,
  generation integer NOT NULL REFERENCES projection_generation (generation),
  ref text NOT NULL,
  account text,
  requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_request_by_generation ON catalog_request (generation);

GRANT SELECT, INSERT, DELETE ON catalog_request TO sbs_projector;
GRANT USAGE ON SEQUENCE catalog_request_id_seq TO sbs_projector;

-- Down Migration
DROP TABLE catalog_request;
