-- Up Migration

-- Fencing for the contact pusher (issue #11). The advisory lock says who leads; the epoch says
-- whose writes still count. Taking the lead bumps the epoch; the leader checks it before each
-- Brevo batch and, under FOR SHARE, inside the bookkeeping transaction, so a pass that lost the
-- lead (its lock connection dropped while it was still pushing) can never record anything.
CREATE TABLE brevo_sink_lease (
  name         text PRIMARY KEY,
  epoch        bigint NOT NULL,
  holder       text NOT NULL,
  acquired_at  timestamptz NOT NULL DEFAULT now()
);

-- Parking: a contact that keeps failing is retried with exponential backoff by attempt instead of
-- every pass; a change of its projection row pushes it again anyway (the change feed).
ALTER TABLE brevo_sync_failures ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX brevo_sync_failures_due ON brevo_sync_failures (next_attempt_at);

-- Down Migration
DROP INDEX brevo_sync_failures_due;
ALTER TABLE brevo_sync_failures DROP COLUMN next_attempt_at;
DROP TABLE brevo_sink_lease;
