-- The legacy PostgreSQL server of docker-compose.yml: the crm and portal databases on one server.
-- Runs once, on the first start (empty data volume), as the superuser through psql, hence
-- \connect and \i. The tables are the reference DDL, config/legacy/*.sql, mounted at /legacy.

-- Debezium streams from a logical replication slot: it needs to log in, replicate and read the
-- captured tables for the initial snapshot. The publications are created below by the owner, so
-- the connectors run with publication.autocreate.mode=disabled and own nothing.
CREATE ROLE debezium WITH LOGIN REPLICATION PASSWORD 'debezium';
-- statusview's backfill/reconcile connections (LEGACY_CRM_URL, LEGACY_PORTAL_URL): read-only.
CREATE ROLE statusview_reader WITH LOGIN PASSWORD 'reader';
ALTER ROLE statusview_reader SET default_transaction_read_only = on;

CREATE DATABASE crm;
CREATE DATABASE portal;

\connect crm
\i /legacy/crm.sql
\i /legacy/docker/crm.seed.sql
GRANT USAGE ON SCHEMA crm TO debezium, statusview_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA crm TO debezium, statusview_reader;
CREATE PUBLICATION statusview_crm FOR TABLE crm.customers;

\connect portal
\i /legacy/portal.sql
\i /legacy/docker/portal.seed.sql
GRANT USAGE ON SCHEMA portal TO debezium, statusview_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA portal TO debezium, statusview_reader;
CREATE PUBLICATION statusview_portal FOR TABLE portal.users;
