-- Up Migration

-- A derive request is appended, never upserted. With a unique key, a batch inserting a request
-- waits for any uncommitted transaction that deleted (took) or inserted the same key: two
-- partitions that each took their slot's requests and then asked the other's slot for the same
-- customers deadlocked (seen with two instances, 40P01). Without one, an insert waits for nobody;
-- a customer asked for twice is taken twice and derived once (takeRequests deduplicates).
ALTER TABLE derive_request DROP CONSTRAINT derive_request_pkey;
CREATE INDEX derive_request_by_slot ON derive_request (generation, slot);

-- Down Migration
DROP INDEX derive_request_by_slot;
DELETE FROM derive_request a USING derive_request b
  WHERE a.generation = b.generation AND a.slot = b.slot AND a.customer_id = b.customer_id AND a.ctid < b.ctid;
ALTER TABLE derive_request ADD PRIMARY KEY (generation, slot, customer_id);
