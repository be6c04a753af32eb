-- The reference portal system (PostgreSQL, database `portal`): no status column, only facts.
CREATE SCHEMA IF NOT EXISTS portal;
CREATE TABLE IF NOT EXISTS portal.users (
  user_id        uuid PRIMARY KEY,
  customer_no    varchar(32) NOT NULL,
  registered_at  timestamptz NOT NULL,
  first_login_at timestamptz,
  locked         boolean NOT NULL DEFAULT false
);
