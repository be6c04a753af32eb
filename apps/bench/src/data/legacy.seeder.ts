import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { createConnection } from 'mysql2/promise';
import { projectRoot } from '@app/config';
import { BENCH_NAMES, mysqlUrl, postgresUrl, ServerUrls } from '../bench.env';
import { billingRow, CRM_VARIANTS, PORTAL_BASE_MS, ReferenceCustomers } from './reference-data';

const CHUNK = 250_000;
const MYSQL_CHUNK = 5_000;

const ddl = (system: string): string => readFileSync(join(projectRoot(), 'config/legacy', `${system}.sql`), 'utf8');

const CID = `'C-' || lpad(t.i::text, 7, '0')`;

const CRM_SQL = `
INSERT INTO crm.customers (id, customer_no, email, status, updated_at)
SELECT t.i, ${CID}, 'c' || t.i || '@example.com', m.value, timestamp '2023-01-01 00:00:00' + t.i * interval '1 second'
FROM unnest($1::int[], $2::int[]) AS t(i, v) JOIN unnest($3::int[], $4::text[]) AS m(v, value) ON m.v = t.v`;

// PORTAL_VARIANTS: 0 logged in, 1 registered only, 2 logged in and locked.
const PORTAL_SQL = `
INSERT INTO portal.users (user_id, customer_no, registered_at, first_login_at, locked)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(t.i), 12, '0'))::uuid, ${CID}, to_timestamp(${PORTAL_BASE_MS / 1000} + t.i),
       CASE WHEN t.v IN (0, 2) THEN to_timestamp(${PORTAL_BASE_MS / 1000} + t.i + 86400) END, t.v = 2
FROM unnest($1::int[], $2::int[]) AS t(i, v)`;

/**
 * The three legacy databases of the reference domain with the same customers as the view:
 * crm and portal in PostgreSQL, billing in MariaDB, from config/legacy/*.sql. The customer number
 * columns get an index, as any team querying them per request would add.
 */
export class LegacyDatabases {
  constructor(private readonly urls: ServerUrls) {}

  /** Drops and recreates the crm database (by default the reads benchmark's) with customers 1..n. */
  async seedCrm(customers: ReferenceCustomers, database: string = BENCH_NAMES.legacy.crm): Promise<number> {
    const client = await this.recreatePostgres(database, 'crm');
    try {
      let rows = 0;
      for (let from = 1; from <= customers.count; from += CHUNK) {
        const { ids, variants } = customers.present('crm', from, Math.min(customers.count, from + CHUNK - 1));
        await client.query(CRM_SQL, [ids, variants, CRM_VARIANTS.map((_, v) => v), CRM_VARIANTS.map((v) => v.status)]);
        rows += ids.length;
      }
      await client.query('CREATE INDEX customers_customer_no_idx ON crm.customers (customer_no)');
      await client.query('VACUUM ANALYZE crm.customers');
      return rows;
    } finally {
      await client.end();
    }
  }

  async seedPortal(customers: ReferenceCustomers): Promise<number> {
    const client = await this.recreatePostgres(BENCH_NAMES.legacy.portal, 'portal');
    try {
      let rows = 0;
      for (let from = 1; from <= customers.count; from += CHUNK) {
        const { ids, variants } = customers.present('portal', from, Math.min(customers.count, from + CHUNK - 1));
        await client.query(PORTAL_SQL, [ids, variants]);
        rows += ids.length;
      }
      await client.query('CREATE INDEX users_customer_no_idx ON portal.users (customer_no)');
      await client.query('VACUUM ANALYZE portal.users');
      return rows;
    } finally {
      await client.end();
    }
  }

  /** MariaDB's default collation compares case-insensitively and ignores trailing spaces: the messy cust_ref still matches. */
  async seedBilling(customers: ReferenceCustomers): Promise<number> {
    const name = BENCH_NAMES.legacy.billing;
    const admin = await createConnection({ uri: this.urls.mysqlAdmin });
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.query(`CREATE DATABASE \`${name}\``);
    } finally {
      await admin.end();
    }
    const conn = await createConnection({ uri: mysqlUrl(this.urls, name), multipleStatements: true, timezone: 'Z' });
    try {
      await conn.query(`SET time_zone = '+00:00'`);
      await conn.query(ddl('billing'));
      const { ids, variants } = customers.present('billing');
      for (let k = 0; k < ids.length; k += MYSQL_CHUNK) {
        const values = ids.slice(k, k + MYSQL_CHUNK).map((i, j) => {
          const r = billingRow(i, variants[k + j]);
          return [r.account_id, r.cust_ref, r.state, r.balance_cents, new Date(r.modified as number)];
        });
        await conn.query('INSERT INTO accounts (account_id, cust_ref, state, balance_cents, modified) VALUES ?', [values]);
      }
      await conn.query('CREATE INDEX accounts_cust_ref_idx ON accounts (cust_ref)');
      await conn.query('ANALYZE TABLE accounts');
      return ids.length;
    } finally {
      await conn.end();
    }
  }

  /** Drops every legacy database of the benchmarks, their replication slots first (a slot left behind pins the shared server's WAL). */
  async dropAll(): Promise<void> {
    const admin = new Client({ connectionString: this.urls.postgresAdmin });
    await admin.connect();
    try {
      for (const name of [BENCH_NAMES.legacy.crm, BENCH_NAMES.legacy.portal, BENCH_NAMES.direct.crm]) await dropPostgresDatabase(admin, name);
    } finally {
      await admin.end();
    }
    const conn = await createConnection({ uri: this.urls.mysqlAdmin });
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${BENCH_NAMES.legacy.billing}\``);
    } finally {
      await conn.end();
    }
  }

  private async recreatePostgres(name: string, system: 'crm' | 'portal'): Promise<Client> {
    const admin = new Client({ connectionString: this.urls.postgresAdmin });
    await admin.connect();
    try {
      await dropPostgresDatabase(admin, name);
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const client = new Client({ connectionString: postgresUrl(this.urls, name) });
    await client.connect();
    await client.query(ddl(system));
    return client;
  }
}

/**
 * Drops a database and, first, every replication slot on it (DROP DATABASE refuses while a slot
 * exists; a walsender still using one is terminated, and the slot dropped once it is released).
 */
export async function dropPostgresDatabase(admin: Client, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const { rows } = await admin.query<{ slot: string; pid: number | null }>('SELECT slot_name AS slot, active_pid AS pid FROM pg_replication_slots WHERE database = $1', [name]);
    if (rows.length === 0) break;
    try {
      for (const r of rows) {
        if (r.pid !== null) await admin.query('SELECT pg_terminate_backend($1)', [r.pid]);
        await admin.query('SELECT pg_drop_replication_slot($1)', [r.slot]);
      }
    } catch (e) {
      // 55006: still active for a moment after its walsender was terminated.
      if ((e as { code?: string }).code !== '55006' || attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
