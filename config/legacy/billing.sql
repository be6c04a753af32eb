-- The reference billing system (MariaDB/MySQL, database `billing`).
CREATE TABLE IF NOT EXISTS accounts (
  account_id    int PRIMARY KEY,
  cust_ref      varchar(32) NOT NULL,
  state         tinyint NOT NULL,
  balance_cents bigint NOT NULL DEFAULT 0,
  modified      datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
);
