import { DataSource } from 'typeorm';
import { copyRowsIn, copyValue, isoTimestamps } from '../store/copy-in';
import { PreparedChange, storedUnmapped } from '../store/projection.store';

/** A customer as the projection resolved it from its records. */
export interface SeededCustomer {
  id: string;
  status: string;
  reason: string;
}

const COPY_CUSTOMERS = `COPY customer (id, status, reason, status_since, updated_at, version, live, rule_set_version) FROM STDIN`;
const COPY_RECORDS = `COPY source_record (system, record_key, customer_id, raw, status, rule, unmapped_field, unmapped_value,
  position_kind, position_key, position, source_ts, deleted, updated_at) FROM STDIN`;

/**
 * Writes customers and their source records in bulk, as the projection would hold them after
 * storing them (each customer at version 1 and live; no history, no outbox, nothing cached):
 * benchmark data, a million customers at a time. Each call is one COPY in a transaction of its
 * own, its rows made as PostgreSQL takes them. The service's own writes go through
 * ApplyChangesUseCase; nothing here checks what is stored already (a known key fails the call).
 */
export class ProjectionSeeder {
  constructor(private readonly db: DataSource) {}

  /** Records mapped (status, rule, unmapped) as the projection maps them; `at` is their write time. Resolves with their number. */
  writeRecords(records: Iterable<PreparedChange>, at: Date): Promise<number> {
    const written = at.toISOString();
    function* rows(): Generator<string[]> {
      const sourceTs = isoTimestamps();
      for (const r of records) {
        const p = r.position;
        const unmapped = storedUnmapped(r.unmapped);
        yield [
          copyValue(r.system), copyValue(r.recordKey), copyValue(r.customerId), copyValue(JSON.stringify(r.raw)),
          copyValue(r.status), copyValue(r.rule), copyValue(unmapped?.field ?? null), copyValue(unmapped?.value ?? null),
          copyValue(p.kind), copyValue(p.key), copyValue(p.text), sourceTs(p.tsMs), r.deleted ? 't' : 'f', written,
        ];
      }
    }
    return this.db.transaction((em) => copyRowsIn(em, COPY_RECORDS, rows()));
  }

  /** Customers resolved under `ruleSetVersion`, live at version 1 since `at`. Resolves with their number. */
  writeCustomers(customers: Iterable<SeededCustomer>, options: { ruleSetVersion: number; at: Date }): Promise<number> {
    const at = options.at.toISOString();
    const version = String(options.ruleSetVersion);
    function* rows(): Generator<string[]> {
      for (const c of customers) yield [copyValue(c.id), copyValue(c.status), copyValue(c.reason), at, at, '1', 't', version];
    }
    return this.db.transaction((em) => copyRowsIn(em, COPY_CUSTOMERS, rows()));
  }

  /** Fresh planner statistics after a load (the reads that follow plan with them). */
  async analyze(): Promise<void> {
    await this.db.query('ANALYZE source_record');
    await this.db.query('ANALYZE customer');
  }

  /** Status changes committed and not relayed yet (rows of status_outbox). */
  async outboxBacklog(): Promise<number> {
    const [{ n }]: Array<{ n: number }> = await this.db.query('SELECT count(*)::int AS n FROM status_outbox');
    return n;
  }

  /** Every customer row, live or not. */
  async customerCount(): Promise<number> {
    const [row]: { n: string }[] = await this.db.query('SELECT count(*) AS n FROM customer');
    return Number(row.n);
  }
}
