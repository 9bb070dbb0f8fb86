-- Up Migration

-- Customer attributes the Stripe connectors map (issue #20), folded like every read-model field
-- (services/projector/src/domain/connector-attributes.ts). Rows written before this migration
-- hold the defaults until their customer is derived again (any event of theirs, or a rebuild).
ALTER TABLE customer_projection
  ADD COLUMN balance jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN country text,
  ADD COLUMN city text,
  ADD COLUMN delinquent boolean,
  ADD COLUMN plan_names text[] NOT NULL DEFAULT '{}',
  ADD COLUMN coupon_name text;

-- Columns are only ever added, at the end (CREATE OR REPLACE VIEW keeps the existing ones and the
-- grants; the security barrier of migration 0004 is restated).
CREATE OR REPLACE VIEW customer_metrics WITH (security_barrier = true) AS
SELECT
  p.customer_id, p.email, p.name, p.phone, p.currency, p.created_at, p.deleted, p.metadata,
  p.payment_count, p.total_spent, p.average_order_value, p.last_payment_at,
  p.failed_payment_count, p.refunded_total, p.dispute_count, p.mrr, p.subscription_status,
  p.plan_name, p.subscription_started_at, p.trial_end, p.cancel_at_period_end,
  p.current_period_end, p.churned, p.last_event_at, p.updated_at,
  p.balance, p.country, p.city, p.delinquent, p.plan_names, p.coupon_name
FROM customer_projection p
JOIN projection_pointer ptr ON p.generation = ptr.generation;

COMMENT ON COLUMN customer_metrics.balance IS 'Stripe customer balance per currency, minor units; negative = account credit. {} when zero.';
COMMENT ON COLUMN customer_metrics.country IS 'address.country (ISO 3166-1 alpha-2); NULL once deleted.';
COMMENT ON COLUMN customer_metrics.city IS 'address.city; NULL once deleted.';
COMMENT ON COLUMN customer_metrics.delinquent IS 'Stripe delinquent flag (an invoice payment failed and is unpaid).';
COMMENT ON COLUMN customer_metrics.plan_names IS 'Plan names of the active, past_due and trialing subscriptions, sorted.';
COMMENT ON COLUMN customer_metrics.coupon_name IS 'Applied coupon: the customer discount''s, else the first of the live subscriptions'' discounts.';

CREATE OR REPLACE VIEW customer_changes AS
SELECT
  p.customer_id, p.email, p.name, p.phone, p.currency, p.created_at, p.deleted, p.metadata,
  p.payment_count, p.total_spent, p.average_order_value, p.last_payment_at,
  p.failed_payment_count, p.refunded_total, p.dispute_count, p.mrr, p.subscription_status,
  p.plan_name, p.subscription_started_at, p.trial_end, p.cancel_at_period_end,
  p.current_period_end, p.churned, p.last_event_at, p.updated_at,
  false AS removed, p.generation, p.change_xid,
  p.balance, p.country, p.city, p.delinquent, p.plan_names, p.coupon_name
FROM customer_projection p
JOIN projection_pointer ptr ON p.generation = ptr.generation
UNION ALL
SELECT
  t.customer_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  true, t.generation, t.change_xid,
  NULL, NULL, NULL, NULL, NULL, NULL
FROM customer_projection_tombstone t
JOIN projection_pointer ptr ON t.generation = ptr.generation
WHERE NOT EXISTS (
  SELECT 1 FROM customer_projection p WHERE p.generation = t.generation AND p.customer_id = t.customer_id
);

-- Down Migration
-- Views first: a column cannot be dropped while a view selects it, and CREATE OR REPLACE cannot
-- drop view columns, so the views are recreated as migrations 0002 and 0004 left them.
DROP VIEW customer_changes;
DROP VIEW customer_metrics;
CREATE VIEW customer_metrics WITH (security_barrier = true) AS
SELECT
  p.customer_id, p.email, p.name, p.phone, p.currency, p.created_at, p.deleted, p.metadata,
  p.payment_count, p.total_spent, p.average_order_value, p.last_payment_at,
  p.failed_payment_count, p.refunded_total, p.dispute_count, p.mrr, p.subscription_status,
  p.plan_name, p.subscription_started_at, p.trial_end, p.cancel_at_period_end,
  p.current_period_end, p.churned, p.last_event_at, p.updated_at
FROM customer_projection p
JOIN projection_pointer ptr ON p.generation = ptr.generation;
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
GRANT SELECT ON customer_metrics, customer_changes TO sbs_projector;
GRANT SELECT ON customer_metrics TO sbs_analytics;
GRANT SELECT ON customer_metrics, customer_changes, projection_pointer TO sbs_sink;
ALTER TABLE customer_projection
  DROP COLUMN balance, DROP COLUMN country, DROP COLUMN city, DROP COLUMN delinquent,
  DROP COLUMN plan_names, DROP COLUMN coupon_name;
