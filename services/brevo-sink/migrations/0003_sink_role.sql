-- Up Migration

-- The sink runs as a login role that is a member of `sbs_sink` (issue #16): DML on its own tables,
-- nothing else. It reads the projection through grants the projector's migrations give the same
-- role (customer_metrics, customer_changes, projection_pointer). Created here when missing, by the
-- deploy-time owner that runs migrations (needs CREATEROLE only then; or a DBA creates it first).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sbs_sink') THEN
    CREATE ROLE sbs_sink NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created concurrently by another schema's migration
END
$$;
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO sbs_sink', current_schema());
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE
  ON brevo_contact_state, brevo_sync_failures, brevo_event_ledger, brevo_sink_cursors, brevo_sink_lease
  TO sbs_sink;

-- Down Migration
REVOKE ALL ON brevo_contact_state, brevo_sync_failures, brevo_event_ledger, brevo_sink_cursors, brevo_sink_lease
  FROM sbs_sink;
