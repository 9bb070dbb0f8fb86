-- Up Migration

-- Positions that prove themselves (RELIABILITY.md, lessons from review 2026-12).
--
-- `last_offset` / `last_fingerprint`: the offset and a hash of the key and value of the last record
-- a generation applied or dead-lettered on a partition. On assignment the projector reads that
-- record back: if it is gone or different, the topic was recreated (or this is another cluster)
-- and the partition halts instead of skipping. Kafka's own topic id would do for recreation, but
-- kafkajs speaks Metadata v6, which predates topic ids; the fingerprint also catches a restored
-- cluster whose topic kept its name.
ALTER TABLE processed_offset
  ADD COLUMN last_offset bigint,
  ADD COLUMN last_fingerprint text;

-- A partition the projector refuses to advance, and why (see topic-consumer.ts for the reasons).
-- Cleared by `pnpm cli accept-gap` (which also records the gap) or made moot by a rebuild.
CREATE TABLE partition_halt (
  generation integer NOT NULL REFERENCES projection_generation (generation),
  topic text NOT NULL,
  partition integer NOT NULL,
  reason text NOT NULL,
  detail text NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (generation, topic, partition)
);

-- Offsets a generation knowingly never applied, with who accepted them and why.
CREATE TABLE offset_gap (
  generation integer NOT NULL REFERENCES projection_generation (generation),
  topic text NOT NULL,
  partition integer NOT NULL,
  from_offset bigint NOT NULL,
  to_offset bigint NOT NULL,
  reason text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (generation, topic, partition, from_offset)
);

-- Dead letters name the record they hold, not only its offset: a recreated topic reuses offsets.
ALTER TABLE dead_letter ADD COLUMN fingerprint text;

-- Customers whose derivation threw: their previous row is kept, the rest of the batch commits.
CREATE TABLE derive_failure (
  generation integer NOT NULL REFERENCES projection_generation (generation),
  customer_id text NOT NULL,
  reason text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (generation, customer_id)
);

-- A commit-ordered change feed for incremental readers (the Brevo sink). `change_xid` is the id
-- of the transaction that last changed the row. A reader takes only rows whose transaction is
-- older than its snapshot's xmin: every such transaction has ended, and every transaction that
-- commits later has a larger id, so a cursor over (change_xid, customer_id) never skips a row,
-- however long a writer's transaction took. (updated_at, stamped at transaction start, did.)
ALTER TABLE customer_projection ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX customer_projection_change ON customer_projection (generation, change_xid, customer_id);

-- Rows removed because no fact names the customer any more (and, at a generation switch,
-- customers the new generation does not have): readers of the feed see the removal.
CREATE TABLE customer_projection_tombstone (
  generation integer NOT NULL,
  customer_id text NOT NULL,
  change_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  PRIMARY KEY (generation, customer_id)
);
CREATE INDEX customer_projection_tombstone_change ON customer_projection_tombstone (generation, change_xid, customer_id);

-- The feed: the live generation's rows and tombstones, with the generation they belong to (a
-- reader whose cursor names another generation starts over). Columns as customer_metrics, plus
-- `removed` (a tombstone: every other column NULL but customer_id).
CREATE VIEW customer_changes AS
SELECT
  p.customer_id, p.email, p.name, p.phone, p.currency, p.created_at, p.deleted, p.metadata,
  p.payment_count, p.total_spent, p.average_order_value, p.last_payment_at,
  p.failed_payment_count, p.refunded_total, p.dispute_count, p.mrr, p.subscription_status,
  p.plan_name, p.subscription_started_at, p.trial_end, p.cancel_at_period_end,
  p.current_period_end, p.churned, p.last_event_at, p.updated_at,
  false AS removed, p.generation, p.change_xid
FROM customer_projection p
JOIN projection_pointer ptr ON p.generation = ptr.generation
UNION ALL
SELECT
  t.customer_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  true, t.generation, t.change_xid
FROM customer_projection_tombstone t
JOIN projection_pointer ptr ON t.generation = ptr.generation
WHERE NOT EXISTS (
  SELECT 1 FROM customer_projection p WHERE p.generation = t.generation AND p.customer_id = t.customer_id
);

COMMENT ON VIEW customer_changes IS
  'Change feed of the live generation for incremental readers: read rows with (change_xid, customer_id) above your cursor and change_xid below pg_snapshot_xmin(pg_current_snapshot()), in that order; start over when generation differs from your cursor''s. removed = the customer has no row any more.';

-- Down Migration
DROP VIEW customer_changes;
DROP TABLE customer_projection_tombstone;
DROP INDEX customer_projection_change;
ALTER TABLE customer_projection DROP COLUMN change_xid;
DROP TABLE derive_failure;
ALTER TABLE dead_letter DROP COLUMN fingerprint;
DROP TABLE offset_gap;
DROP TABLE partition_halt;
ALTER TABLE processed_offset DROP COLUMN last_fingerprint, DROP COLUMN last_offset;
