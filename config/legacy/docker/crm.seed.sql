-- A few crm customers for docker-compose.yml, chosen so that together with billing.seed.sql and
-- portal.seed.sql each resolution rule of config/rules.yaml decides at least one customer.
INSERT INTO crm.customers (id, customer_no, email, status) VALUES
  (1, 'C-000001', 'ada@example.com',     'ACTIVE'),   -- billing normal, portal logged in -> ACTIVE (active)
  (2, 'C-000002', 'grace@example.com',   'ACTIVE'),   -- no billing account -> PENDING (no-billing-yet)
  (3, 'C-000003', 'alan@example.com',    'ACTIVE'),   -- billing overdue -> AT_RISK (at-risk)
  (4, 'C-000004', 'edsger@example.com',  'DORMANT'),  -- billing suspended -> SUSPENDED (suspended)
  (5, 'C-000005', 'barbara@example.com', 'CLOSED'),   -- -> CLOSED (closed)
  (6, 'C-000006', 'donald@example.com',  'PROSPECT'), -- portal registered only -> PENDING (pending)
  (7, 'C-000007', 'ken@example.com',     'DORMANT')   -- -> INACTIVE (inactive)
ON CONFLICT (id) DO NOTHING;
