-- A few billing accounts for docker-compose.yml (see crm.seed.sql for the outcome of each customer).
-- cust_ref is as messy as in the real system: stray spaces, lower case.
INSERT IGNORE INTO accounts (account_id, cust_ref, state, balance_cents) VALUES
  (1001, 'C-000001',   0,     0),
  (1003, ' c-000003 ', 1, 12500),
  (1004, 'C-000004',   2, 48000),
  -- Only in billing, written off -> CLOSED (closed).
  (1008, 'c-000008',   9,     0);
