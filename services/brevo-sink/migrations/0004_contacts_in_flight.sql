-- Up Migration

-- Write-ahead marks (SinkState.markInFlight): a row per contact the sink is writing to Brevo, set
-- before the write and deleted with the bookkeeping of what Brevo confirmed. A row that outlives
-- its pass is a write whose outcome nobody recorded (killed while an import ran, a timeout after
-- Brevo applied it); the next pass repairs that contact whole instead of diffing against its last
-- confirmed state, which may be missing lists Brevo added.
CREATE TABLE brevo_contact_in_flight (
  ext_id text PRIMARY KEY,
  since timestamptz NOT NULL DEFAULT now(),
  -- The Brevo import that carries the write, once started: Brevo may still be applying it, so a
  -- repair waits for that process to end first (or the import re-adds lists after the repair).
  import_process_id bigint
);

GRANT SELECT, INSERT, UPDATE, DELETE ON brevo_contact_in_flight TO sbs_sink;

-- Down Migration
DROP TABLE brevo_contact_in_flight;
