-- The reference crm system (PostgreSQL, database `crm`), as in docs of the reference domain.
-- Used by docker-compose.yml to seed the legacy database, and by the backfill/reconcile tests.
CREATE SCHEMA IF NOT EXISTS crm;
CREATE TABLE IF NOT EXISTS crm.customers (
  id          integer PRIMARY KEY,
  customer_no varchar(32) NOT NULL,
  email       varchar(255),
  status      varchar(16) NOT NULL,
  updated_at  timestamp NOT NULL DEFAULT now()
);
