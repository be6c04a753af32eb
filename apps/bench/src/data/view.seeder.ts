import { DataSource } from 'typeorm';
import { openStatusviewDatabase } from '@app/bootstrap';
import { positionOf, SourcePosition } from '@app/change-events';
import { PreparedChange, ProjectionSeeder, SeededCustomer } from '@app/projection';
import { comboKey, customerId, portalUserId, ReferenceCustomers, ReferenceMappings, rowOf, SystemName } from './reference-data';

/** Customers per round: each system's records of these, then the customers, so that a customer's rows lie in the same stretch of each table. */
const CHUNK = 200_000;

/** The seeded rows' source time and write time. */
const SEEDED_AT_MS = Date.UTC(2024, 0, 1);
const RULE_SET_VERSION = 1;

/** Seeded records sit before any position the change events of the benchmarks carry (encoded by the decoder's own positionOf). */
function seededPosition(system: SystemName, i: number): SourcePosition {
  return system === 'billing'
    ? positionOf({ file: 'mysql-bin.000001', pos: i, row: 0, ts_ms: SEEDED_AT_MS }, null)
    : positionOf({ lsn: i, ts_ms: SEEDED_AT_MS }, null);
}

/** The benchmarks' own statusview database: migrated with the service's migrations, emptied, and seeded through the projection's bulk writer. */
export class ViewDatabase {
  private readonly seeder: ProjectionSeeder;

  private constructor(
    readonly url: string,
    private readonly db: DataSource,
  ) {
    this.seeder = new ProjectionSeeder(db);
  }

  static async open(url: string): Promise<ViewDatabase> {
    // Creates the database if needed and runs the service's migrations.
    return new ViewDatabase(url, await openStatusviewDatabase(url, 2));
  }

  /** Every table but the migrations' (the rule set is seeded again from config/ when a service starts). */
  async reset(): Promise<void> {
    const rows: { t: string }[] = await this.db.query(`SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
    if (rows.length) await this.db.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')} RESTART IDENTITY`);
  }

  /** Customers 1..n with their source records, as the projection would have stored them; returns row counts. */
  async seed(customers: ReferenceCustomers, mappings: ReferenceMappings): Promise<{ customers: number; records: number }> {
    const at = new Date(SEEDED_AT_MS);
    const combos = new Map(mappings.combos.map((c) => [c.key, c]));
    let records = 0;
    for (let from = 1; from <= customers.count; from += CHUNK) {
      const to = Math.min(customers.count, from + CHUNK - 1);
      for (const system of ['crm', 'billing', 'portal'] as const) records += await this.seeder.writeRecords(recordsOf(customers, mappings, system, from, to), at);
      await this.seeder.writeCustomers(customersOf(customers, combos, from, to), { ruleSetVersion: RULE_SET_VERSION, at });
    }
    await this.seeder.analyze();
    return { customers: customers.count, records };
  }

  /** Status changes committed and not relayed yet (rows of status_outbox). */
  outboxBacklog(): Promise<number> {
    return this.seeder.outboxBacklog();
  }

  /** Every customer row, live or not. */
  customerCount(): Promise<number> {
    return this.seeder.customerCount();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** The records of customers from..to in one system, made as they are written. */
function* recordsOf(customers: ReferenceCustomers, mappings: ReferenceMappings, system: SystemName, from: number, to: number): Generator<PreparedChange> {
  const { ids, variants } = customers.present(system, from, to);
  const m = mappings.bySystem[system];
  for (let k = 0; k < ids.length; k++) {
    const i = ids[k];
    const mapped = m[variants[k]];
    yield {
      system,
      recordKey: system === 'portal' ? portalUserId(i) : String(i),
      customerId: customerId(i),
      deleted: false,
      raw: rowOf(system, i, variants[k]),
      status: mapped.status,
      rule: mapped.rule,
      unmapped: mapped.unmappedField === null || mapped.unmappedValue === null ? null : { field: mapped.unmappedField, value: mapped.unmappedValue },
      position: seededPosition(system, i),
    };
  }
}

/** Customers from..to, resolved as their combination of variants resolves. */
function* customersOf(customers: ReferenceCustomers, combos: Map<number, { status: string; reason: string }>, from: number, to: number): Generator<SeededCustomer> {
  for (let i = from; i <= to; i++) {
    const combo = combos.get(comboKey(customers.crm[i], customers.billing[i], customers.portal[i]));
    if (!combo) throw new Error(`customer ${i}: no combination of variants ${customers.crm[i]}, ${customers.billing[i]}, ${customers.portal[i]}`);
    yield { id: customerId(i), status: combo.status, reason: combo.reason };
  }
}
