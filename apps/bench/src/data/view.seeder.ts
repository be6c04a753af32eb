import { Client } from 'pg';
import { openDatabase } from '@app/projection';
import { BILLING_BASE_MS, CRM_BASE_MICROS, PORTAL_BASE_MS, ReferenceCustomers, ReferenceMappings, SystemName } from './reference-data';

const CHUNK = 200_000;

/** SQL spellings of the row functions in reference-data.ts (same values, computed by PostgreSQL). */
const CID = `'C-' || lpad(t.i::text, 7, '0')`;
const RAW: Record<SystemName, string> = {
  crm: `jsonb_build_object('id', t.i, 'customer_no', ${CID}, 'email', 'c' || t.i || '@example.com', 'status', m.value,
          'updated_at', ${CRM_BASE_MICROS}::int8 + t.i::int8 * 1000000)`,
  billing: `jsonb_build_object('account_id', t.i,
          'cust_ref', CASE t.i % 10 WHEN 3 THEN lower(${CID}) WHEN 7 THEN ${CID} || ' ' ELSE ${CID} END,
          'state', m.value::int, 'balance_cents', (t.i::int8 * 7919) % 1000000, 'modified', ${BILLING_BASE_MS}::int8 + t.i::int8 * 1000)`,
  portal: `jsonb_build_object('user_id', '00000000-0000-4000-8000-' || lpad(to_hex(t.i), 12, '0'), 'customer_no', ${CID},
          'registered_at', to_char(to_timestamp(${PORTAL_BASE_MS / 1000} + t.i) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
          -- PORTAL_VARIANTS 0 and 2 have logged in.
          'first_login_at', CASE WHEN t.v IN (0, 2) THEN to_char(to_timestamp(${PORTAL_BASE_MS / 1000} + t.i + 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
          'locked', t.v = 2)`,
};
/** Seeded records sit before any position the change events of the benchmarks carry. */
const POSITION: Record<SystemName, string> = {
  crm: `'lsn', lpad(t.i::text, 20, '0'), 'lsn:' || t.i`,
  portal: `'lsn', lpad(t.i::text, 20, '0'), 'lsn:' || t.i`,
  billing: `'binlog', '000000000001:' || lpad(t.i::text, 20, '0') || ':00000000', 'mysql-bin.000001:' || t.i || ':0'`,
};

function recordSql(system: SystemName): string {
  return `
INSERT INTO source_record (system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
                           position_kind, position_key, position, source_ts, deleted, updated_at)
SELECT '${system}', ${system === 'portal' ? `'00000000-0000-4000-8000-' || lpad(to_hex(t.i), 12, '0')` : 't.i::text'}, ${CID}, ${RAW[system]},
       m.status, m.rule, m.uf, m.uv, ${POSITION[system]}, timestamptz '2024-01-01 00:00:00+00', false, timestamptz '2024-01-01 00:00:00+00'
FROM unnest($1::int[], $2::int[]) AS t(i, v)
JOIN unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS m(v, value, status, rule, uf, uv) ON m.v = t.v`;
}

const CUSTOMER_SQL = `
INSERT INTO customer (id, status, reason, status_since, updated_at, version, live, rule_set_version)
SELECT ${CID}, c.status, c.reason, timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-01 00:00:00+00', 1, true, 1
FROM unnest($1::int[], $2::int[]) AS t(i, k)
JOIN unnest($3::int[], $4::text[], $5::text[]) AS c(k, status, reason) ON c.k = t.k`;

/** The benchmarks' own statusview database: migrated with the service's migrations, emptied and seeded with SQL. */
export class ViewDatabase {
  private constructor(
    readonly url: string,
    readonly client: Client,
  ) {}

  static async open(url: string): Promise<ViewDatabase> {
    // Creates the database if needed and runs the service's migrations.
    const ds = await openDatabase(url, 2);
    await ds.destroy();
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`SET TIME ZONE 'UTC'`);
    return new ViewDatabase(url, client);
  }

  /** Every table but the migrations' (the rule set is seeded again from config/ when a service starts). */
  async reset(): Promise<void> {
    const { rows } = await this.client.query<{ t: string }>(
      `SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
    );
    if (rows.length) await this.client.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')} RESTART IDENTITY`);
  }

  /** Customers 1..n with their source records, as the projection would have stored them; returns row counts. */
  async seed(customers: ReferenceCustomers, mappings: ReferenceMappings): Promise<{ customers: number; records: number }> {
    let records = 0;
    for (let from = 1; from <= customers.count; from += CHUNK) {
      const to = Math.min(customers.count, from + CHUNK - 1);
      for (const system of ['crm', 'billing', 'portal'] as const) {
        const { ids, variants } = customers.present(system, from, to);
        const m = mappings.bySystem[system];
        await this.client.query(recordSql(system), [
          ids,
          variants,
          m.map((x) => x.variant),
          m.map((x) => x.value),
          m.map((x) => x.status),
          m.map((x) => x.rule),
          m.map((x) => x.unmappedField),
          m.map((x) => x.unmappedValue),
        ]);
        records += ids.length;
      }
      const ids: number[] = [];
      const keys: number[] = [];
      for (let i = from; i <= to; i++) {
        ids.push(i);
        keys.push((customers.crm[i] + 1) * 100 + (customers.billing[i] + 1) * 10 + (customers.portal[i] + 1));
      }
      await this.client.query(CUSTOMER_SQL, [ids, keys, mappings.combos.map((c) => c.key), mappings.combos.map((c) => c.status), mappings.combos.map((c) => c.reason)]);
    }
    await this.client.query('ANALYZE source_record');
    await this.client.query('ANALYZE customer');
    return { customers: customers.count, records };
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(sql, params);
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

