-- Up Migration

-- Partition-parallel writers (issue #15; the design and its invariant are in README.md,
-- "Partition-parallel writes"). Batches of different partitions commit concurrently; what used
-- to be guaranteed by one lock per generation is now guaranteed by:

-- 1. The number of customer slots of a generation, fixed once (the topic's partition count when
--    the generation was first written): a customer is derived only under its slot's lock, and
--    every instance must agree on the slot, even after partitions are added to the topic.
ALTER TABLE projection_generation ADD COLUMN slots integer CHECK (slots > 0);

-- 2. A mailbox per slot: a batch that changed a fact of a customer guarded by another slot (a
--    refund or dispute keyed apart from its charge) asks that slot to derive the customer again,
--    in the same transaction as the fact. The slot's next batch, or its owner's supervisor when
--    the partition is idle, takes the requests under the slot's lock.
CREATE TABLE derive_request (
  generation integer NOT NULL REFERENCES projection_generation (generation),
  slot integer NOT NULL,
  customer_id text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (generation, slot, customer_id)
);

-- 3. Refunds and disputes whose charge was not known when they were written: whoever commits
--    the charge may have read its refunds before they committed. A sweep after both committed
--    turns each into a derive request for the charge's customer (account: for the slot).
CREATE TABLE charge_request (
  generation integer NOT NULL REFERENCES projection_generation (generation),
  charge_id text NOT NULL,
  account text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (generation, charge_id)
);

-- 4. Optimistic versions of facts: two partitions only write the same fact when keys moved
--    (partitions added to the topic, an object keyed apart from its later customer); a write that
--    finds another version than the one it folded onto is refused and its batch retried.
ALTER TABLE fact_customer ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_charge ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_refund ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_dispute ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_invoice ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_subscription ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_product ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_price ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_coupon ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE fact_discount ADD COLUMN version bigint NOT NULL DEFAULT 1;

GRANT SELECT, INSERT, UPDATE, DELETE ON derive_request, charge_request TO sbs_projector;

-- Down Migration
REVOKE ALL ON derive_request, charge_request FROM sbs_projector;
ALTER TABLE fact_customer DROP COLUMN version;
ALTER TABLE fact_charge DROP COLUMN version;
ALTER TABLE fact_refund DROP COLUMN version;
ALTER TABLE fact_dispute DROP COLUMN version;
ALTER TABLE fact_invoice DROP COLUMN version;
ALTER TABLE fact_subscription DROP COLUMN version;
ALTER TABLE fact_product DROP COLUMN version;
ALTER TABLE fact_price DROP COLUMN version;
ALTER TABLE fact_coupon DROP COLUMN version;
ALTER TABLE fact_discount DROP COLUMN version;
DROP TABLE charge_request;
DROP TABLE derive_request;
ALTER TABLE projection_generation DROP COLUMN slots;
