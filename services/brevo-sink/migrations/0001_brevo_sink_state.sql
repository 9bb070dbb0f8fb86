-- Up Migration

-- What Brevo holds for each contact, as far as the sink knows: written only after Brevo
-- confirmed the change, so a crash before this write means a re-send, never a lost update.
CREATE TABLE brevo_contact_state (
  ext_id      text PRIMARY KEY,
  email       text,
  attributes  jsonb NOT NULL,
  lists       integer[] NOT NULL,
  deleted     boolean NOT NULL DEFAULT false,
  pushed_at   timestamptz NOT NULL DEFAULT now()
);

-- Contacts Brevo refused (invalid email, duplicate identifier…): retried on later runs, never
-- blocking others. Removed when a later push of the contact is confirmed.
CREATE TABLE brevo_sync_failures (
  ext_id           text PRIMARY KEY,
  code             text NOT NULL,
  reason           text NOT NULL,
  attempts         integer NOT NULL DEFAULT 1,
  first_failed_at  timestamptz NOT NULL DEFAULT now(),
  last_failed_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per Stripe event ever considered for a Brevo custom event. The row is claimed
-- ('sending') before the call, so an event is sent at most once: a crash or an ambiguous error
-- leaves it 'sending'/'uncertain' and it is reported, never re-sent (Brevo has no idempotency key).
CREATE TABLE brevo_event_ledger (
  stripe_event_id  text PRIMARY KEY,
  customer_id      text NOT NULL,
  event_name       text NOT NULL,
  status           text NOT NULL CHECK (status IN ('sending', 'sent', 'uncertain', 'failed')),
  detail           text,
  claimed_at       timestamptz NOT NULL DEFAULT now(),
  settled_at       timestamptz
);

-- Positions: projection change cursor, event cursor, the events watermark.
CREATE TABLE brevo_sink_cursors (
  name        text PRIMARY KEY,
  value       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE brevo_sink_cursors;
DROP TABLE brevo_event_ledger;
DROP TABLE brevo_sync_failures;
DROP TABLE brevo_contact_state;
