-- Users of the legacy MySQL server of docker-compose.yml; runs once, as root, after the tables.

-- Debezium reads the binary log and snapshots the captured tables. mysql_native_password: the
-- binlog client then needs neither TLS nor the server's public key.
CREATE USER 'debezium'@'%' IDENTIFIED WITH mysql_native_password BY 'debezium';
GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';

-- statusview's backfill/reconcile connection (LEGACY_BILLING_URL): read-only.
CREATE USER 'statusview_reader'@'%' IDENTIFIED BY 'reader';
GRANT SELECT ON billing.* TO 'statusview_reader'@'%';
