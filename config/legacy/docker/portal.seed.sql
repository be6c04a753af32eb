-- A few portal users for docker-compose.yml (see crm.seed.sql for the outcome of each customer).
INSERT INTO portal.users (user_id, customer_no, registered_at, first_login_at, locked) VALUES
  ('0b6f1c2e-5d1a-4c1e-9a51-000000000001', 'C-000001', '2024-01-10T09:00:00Z', '2024-01-10T09:05:00Z', false),
  ('0b6f1c2e-5d1a-4c1e-9a51-000000000006', 'C-000006', '2024-03-01T12:00:00Z', NULL,                   false),
  -- Only in the portal, and locked -> SUSPENDED (suspended).
  ('0b6f1c2e-5d1a-4c1e-9a51-000000000009', 'C-000009', '2023-11-20T08:00:00Z', '2023-11-21T08:00:00Z', true)
ON CONFLICT (user_id) DO NOTHING;
