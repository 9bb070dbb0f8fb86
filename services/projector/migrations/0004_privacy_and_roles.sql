-- Up Migration

-- Privacy and least privilege (issue #16).
--
-- 1. customer_metrics is a security barrier: a reader's own functions and operators (a pg_temp
--    function that raises a notice, say) are applied only to rows the view's own conditions
--    already let through, i.e. the live generation's. Without it the planner may push such a
--    function below the join with projection_pointer and feed it the rows of every generation,
--    including retired ones that still hold personal data. customer_changes stays as it is: it
--    is read by the sink only (no analytics grant), and a barrier would stop the sink's cursor
--    predicate from reaching the indexes.
ALTER VIEW customer_metrics SET (security_barrier = true);

-- 2. The erasure list (`pnpm cli erase`). Holds no personal data itself: only SHA-256 digests of
--    the erased customer id and of the ids of its objects (charges, refunds, disputes, invoices,
--    subscriptions, discounts) and email, which is all the projector needs to recognise an event
--    that names one of them, on every fold and rebuild. `reason` is the operator's free text
--    (a ticket number, never the person's name).
CREATE TABLE erasure_request (
  id bigserial PRIMARY KEY,
  subject_hash text NOT NULL,
  reason text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  -- Rows removed from every generation and from the sink's tables.
  purged_at timestamptz,
  -- The Brevo contact deleted (through the sink's transport).
  brevo_deleted_at timestamptz,
  -- The event log copied without it (`pnpm cli compact-log`), and into which topic.
  compacted_at timestamptz,
  compacted_into text
);
CREATE INDEX erasure_request_subject ON erasure_request (subject_hash);

CREATE TABLE erased_id (
  id_hash text PRIMARY KEY,
  kind text NOT NULL,
  erasure_id bigint NOT NULL REFERENCES erasure_request (id)
);

-- 3. Roles. Migrations run as a deploy-time owner role; the services run as login roles that are
--    members of these NOLOGIN group roles, with DML only. The owner creates the group roles when
--    they are missing (that needs CREATEROLE, deploy time only; a DBA may create them beforehand
--    instead, and then the owner needs no CREATEROLE). Roles are cluster-wide: created once,
--    granted per schema.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['sbs_projector', 'sbs_sink'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created concurrently by another schema's migration
      END;
    END IF;
  END LOOP;
END
$$;

-- The projector: read and write every projector table (this migration set's tables: everything in
-- the schema but the sink's brevo_* tables, the migration bookkeeping and the erasure list), and
-- read the erasure list. No DDL, no TRUNCATE, no role attributes. A later migration that adds a
-- table grants it the same way (or re-runs this loop).
DO $$
DECLARE
  t text;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO sbs_projector, sbs_sink', current_schema());
  FOR t IN
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
      AND c.relname NOT LIKE 'brevo\_%' AND c.relname NOT LIKE 'pgmigrations%'
      AND c.relname NOT IN ('erasure_request', 'erased_id')
  LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO sbs_projector', t);
  END LOOP;
END
$$;
GRANT SELECT ON erasure_request, erased_id TO sbs_projector;
GRANT SELECT ON customer_metrics, customer_changes TO sbs_projector;

-- The sink reads the projection through the two views and the pointer, nothing else of the
-- projector's (its own tables are granted by its migrations).
GRANT SELECT ON customer_metrics, customer_changes, projection_pointer TO sbs_sink;

-- Down Migration
REVOKE SELECT ON customer_metrics, customer_changes, projection_pointer FROM sbs_sink;
REVOKE SELECT ON customer_metrics, customer_changes FROM sbs_projector;
DO $$
DECLARE
  t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
      AND c.relname NOT LIKE 'brevo\_%' AND c.relname NOT LIKE 'pgmigrations%'
  LOOP
    EXECUTE format('REVOKE ALL ON %I FROM sbs_projector', t);
  END LOOP;
  EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM sbs_projector', current_schema());
END
$$;
DROP TABLE erased_id;
DROP TABLE erasure_request;
ALTER VIEW customer_metrics RESET (security_barrier);
