-- Up Migration

-- The fence of the slots' in-memory fact caches (projection/fact-cache.ts, README "Owned
-- in-memory state"). Every transaction holding a slot's lock writes its cache's name and commit
-- count here, in the statement that takes the slot's derive requests, and reads what was there: a
-- cache trusts itself only if it reads what its own last commit wrote. Whatever changes facts
-- without a slot's lock (an erasure's purge, a rebuild's bulk load) deletes the generation's rows.
CREATE TABLE slot_marker (
  generation integer NOT NULL REFERENCES projection_generation (generation),
  slot integer NOT NULL,
  marker text NOT NULL,
  PRIMARY KEY (generation, slot)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON slot_marker TO sbs_projector;

-- Down Migration
DROP TABLE slot_marker;
