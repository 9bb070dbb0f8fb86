-- Up Migration

-- MRR over time (issue #17). Rules and columns: services/projector/README.md, "MRR history".
--
-- subscription_history: per subscription, the set of its snapshots that can be the winner at some
-- instant (the domain's SubscriptionVersions, as it is: a JSON array of Version values). Joined in
-- the projector (set union minus outranked snapshots), so duplicates and order do not matter.
CREATE TABLE subscription_history (
  generation integer NOT NULL,
  subscription_id text NOT NULL,
  -- The customer the winning (latest) snapshot names, as fact_subscription.customer_id.
  customer_id text,
  versions jsonb NOT NULL,
  PRIMARY KEY (generation, subscription_id)
) WITH (fillfactor = 80);
CREATE INDEX subscription_history_customer ON subscription_history (generation, customer_id);

-- Month-end MRR per customer and currency, derived from subscription_history: rows from the
-- first month with MRR through the month of the last change (mrr_monthly carries it forward).
CREATE TABLE mrr_month (
  generation integer NOT NULL,
  customer_id text NOT NULL,
  currency text NOT NULL,
  month date NOT NULL,
  mrr bigint NOT NULL,
  previous_mrr bigint NOT NULL,
  movement text CHECK (movement IN ('new', 'expansion', 'contraction', 'churn', 'reactivation')),
  subscriptions integer NOT NULL,
  PRIMARY KEY (generation, customer_id, currency, month)
);
CREATE INDEX mrr_month_month ON mrr_month (generation, month);

-- Per customer: when it first had MRR, and the catalog entries (kind:id) its history looked up,
-- so a changed coupon or price derives the history again (as customer_projection.catalog_refs).
CREATE TABLE mrr_history_customer (
  generation integer NOT NULL,
  customer_id text NOT NULL,
  first_paid_at timestamptz,
  -- Per currency: the class and the change (minor units) of the latest month that moved.
  last_movement jsonb NOT NULL DEFAULT '{}',
  last_change jsonb NOT NULL DEFAULT '{}',
  catalog_refs text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (generation, customer_id)
);
CREATE INDEX mrr_history_customer_catalog_refs ON mrr_history_customer USING gin (catalog_refs)
  WITH (fastupdate = off);

GRANT SELECT, INSERT, UPDATE, DELETE ON subscription_history, mrr_month, mrr_history_customer TO sbs_projector;

-- The analytics views: the live generation only, security barriers (see 0004), stable names,
-- columns only ever added. Money in minor units; months are UTC calendar months.
CREATE VIEW mrr_monthly WITH (security_barrier = true) AS
WITH live AS (
  SELECT m.customer_id, m.currency, m.month, m.mrr, m.previous_mrr, m.movement, m.subscriptions
  FROM mrr_month m JOIN projection_pointer ptr ON m.generation = ptr.generation
),
last_row AS (
  SELECT DISTINCT ON (customer_id, currency) customer_id, currency, month, mrr, subscriptions
  FROM live ORDER BY customer_id, currency, month DESC
)
SELECT customer_id, currency, month, mrr, previous_mrr, movement, mrr - previous_mrr AS change, subscriptions,
  false AS carried_forward
FROM live
UNION ALL
SELECT l.customer_id, l.currency, g.month::date, l.mrr, l.mrr, NULL, 0, l.subscriptions, true
FROM last_row l,
  generate_series(l.month + interval '1 month', date_trunc('month', now() AT TIME ZONE 'UTC'), interval '1 month') AS g(month)
WHERE l.mrr > 0;

COMMENT ON VIEW mrr_monthly IS
  'Month-end MRR per customer and currency (live generation). One row per month with MRR > 0, plus the churn month (mrr 0); months at 0 have none. The last known MRR is carried forward to the current UTC month.';
COMMENT ON COLUMN mrr_monthly.month IS 'First day of the UTC calendar month; mrr is the MRR at its last second.';
COMMENT ON COLUMN mrr_monthly.mrr IS 'MRR at the month end, minor units, under the projector''s MRR rules.';
COMMENT ON COLUMN mrr_monthly.previous_mrr IS 'MRR at the end of the month before (0 when there was none).';
COMMENT ON COLUMN mrr_monthly.movement IS 'new | expansion | contraction | churn | reactivation | NULL (unchanged).';
COMMENT ON COLUMN mrr_monthly.change IS 'mrr - previous_mrr.';
COMMENT ON COLUMN mrr_monthly.subscriptions IS 'Subscriptions counting toward MRR at the month end.';
COMMENT ON COLUMN mrr_monthly.carried_forward IS 'true: no snapshot since; the last known MRR repeated up to the current month.';

CREATE VIEW mrr_movements WITH (security_barrier = true) AS
SELECT month, currency, movement, count(*) AS customers, sum(change)::bigint AS amount
FROM mrr_monthly
WHERE movement IS NOT NULL
GROUP BY month, currency, movement;

COMMENT ON VIEW mrr_movements IS
  'Per month, currency and movement class: customers moving and the signed MRR change (minor units; negative for contraction and churn).';

CREATE VIEW saas_metrics_monthly WITH (security_barrier = true) AS
WITH m AS (
  SELECT month, currency,
    sum(mrr)::bigint AS mrr,
    count(*) FILTER (WHERE mrr > 0) AS customers,
    sum(subscriptions)::bigint AS subscribers,
    sum(previous_mrr)::bigint AS starting_mrr,
    count(*) FILTER (WHERE movement = 'new') AS new_customers,
    count(*) FILTER (WHERE movement = 'reactivation') AS reactivated_customers,
    count(*) FILTER (WHERE movement = 'churn') AS churned_customers,
    coalesce(sum(change) FILTER (WHERE movement = 'new'), 0)::bigint AS new_mrr,
    coalesce(sum(change) FILTER (WHERE movement = 'expansion'), 0)::bigint AS expansion_mrr,
    coalesce(-sum(change) FILTER (WHERE movement = 'contraction'), 0)::bigint AS contraction_mrr,
    coalesce(-sum(change) FILTER (WHERE movement = 'churn'), 0)::bigint AS churned_mrr,
    coalesce(sum(change) FILTER (WHERE movement = 'reactivation'), 0)::bigint AS reactivation_mrr,
    sum(change)::bigint AS net_new_mrr
  FROM mrr_monthly
  GROUP BY month, currency
)
SELECT month, currency, mrr, mrr * 12 AS arr, customers, subscribers,
  CASE WHEN customers > 0 THEN round(mrr::numeric / customers)::bigint END AS arpu,
  new_customers, reactivated_customers, churned_customers,
  new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr, net_new_mrr, starting_mrr,
  CASE WHEN starting_mrr > 0 THEN round((churned_mrr + contraction_mrr)::numeric / starting_mrr, 6) END
    AS gross_mrr_churn_rate,
  CASE WHEN starting_mrr > 0 THEN round((churned_mrr + contraction_mrr - expansion_mrr)::numeric / starting_mrr, 6) END
    AS net_mrr_churn_rate
FROM m;

COMMENT ON VIEW saas_metrics_monthly IS
  'Per UTC month and currency: MRR, ARR (12 x MRR), paying customers, counted subscriptions, ARPU (MRR / customers, rounded), movement counts and amounts (positive minor units), starting MRR (previous month end), gross MRR churn rate ((churned + contraction) / starting) and net MRR churn rate ((churned + contraction - expansion) / starting); rates NULL when nothing was there to churn.';

-- Per customer, for the sink's optional attributes (FIRST_PAID_AT, MRR_LAST_MOVEMENT,
-- MRR_CHANGE_LAST_MONTH). When these change without the customer's row changing (a late
-- snapshot), the projector moves the row's change_xid so the sink's change feed sees it.
CREATE VIEW customer_mrr_summary WITH (security_barrier = true) AS
SELECT h.customer_id, h.first_paid_at, h.last_movement, h.last_change
FROM mrr_history_customer h JOIN projection_pointer ptr ON h.generation = ptr.generation;

COMMENT ON VIEW customer_mrr_summary IS
  'Per customer of the live generation: first_paid_at (first instant with MRR > 0), last_movement and last_change (jsonb per currency: class and signed change in minor units of the latest month that moved).';

GRANT SELECT ON mrr_monthly, mrr_movements, saas_metrics_monthly, customer_mrr_summary TO sbs_analytics;
GRANT SELECT ON mrr_monthly, mrr_movements, saas_metrics_monthly, customer_mrr_summary TO sbs_projector;
GRANT SELECT ON customer_mrr_summary TO sbs_sink;

-- Down Migration
REVOKE SELECT ON customer_mrr_summary FROM sbs_sink;
REVOKE SELECT ON mrr_monthly, mrr_movements, saas_metrics_monthly, customer_mrr_summary FROM sbs_analytics, sbs_projector;
DROP VIEW customer_mrr_summary;
DROP VIEW saas_metrics_monthly;
DROP VIEW mrr_movements;
DROP VIEW mrr_monthly;
DROP TABLE mrr_history_customer;
DROP TABLE mrr_month;
DROP TABLE subscription_history;
