import { DebeziumLog, TableRef, tableRefOf } from '@app/cdc';
import { DomainConfig } from '@app/config';
import { ABSENT, crmRow, prng, ReferenceCustomers, Row, rowOf, SYSTEMS, SystemName, variantCount } from './reference-data';

export interface BenchEvent {
  topic: string;
  /** The record key as Debezium keys its Kafka messages (JSON of the primary key). */
  key: string;
  body: string;
  system: SystemName;
  customer: number;
}

/**
 * Debezium change events over the reference customers, as the connectors would send them:
 * mostly updates (a crm status, a billing state or a portal situation changes), some new
 * customers, some deletes. PostgreSQL updates carry no `before` and deletes only the key
 * (default replica identity); MySQL sends both images. Deterministic for a seed.
 */
export class ChangeEventStream {
  private readonly rng: () => number;
  private readonly refs: Record<SystemName, TableRef>;
  private readonly state: Record<SystemName, Int8Array>;
  private nextNew: number;

  constructor(
    private readonly customers: ReferenceCustomers,
    domain: DomainConfig,
    readonly log = new DebeziumLog(),
    seed = 7,
    /** Room for the customers this stream creates. */
    capacity = customers.count * 2,
  ) {
    this.rng = prng(seed);
    const ref = (name: SystemName): TableRef => {
      const s = domain.sources.systems.find((x) => x.name === name);
      if (!s) throw new Error(`config/sources.yaml has no system "${name}"`);
      return tableRefOf(s);
    };
    this.refs = { crm: ref('crm'), billing: ref('billing'), portal: ref('portal') };
    const copy = (a: Int8Array) => {
      const out = new Int8Array(capacity + 1).fill(ABSENT);
      out.set(a);
      return out;
    };
    this.state = { crm: copy(customers.crm), billing: copy(customers.billing), portal: copy(customers.portal) };
    this.nextNew = customers.count + 1;
  }

  topicOf(system: SystemName): string {
    return this.refs[system].topic;
  }

  next(): BenchEvent {
    const r = this.rng();
    if (r < 0.1 && this.nextNew < this.state.crm.length) {
      const i = this.nextNew++;
      const v = Math.floor(this.rng() * variantCount('crm'));
      this.state.crm[i] = v;
      return this.emit('crm', i, 'c', null, crmRow(i, v));
    }
    const i = 1 + Math.floor(this.rng() * this.customers.count);
    const present = SYSTEMS.filter((s) => this.state[s][i] !== ABSENT);
    const system = present.length ? present[Math.floor(this.rng() * present.length)] : 'crm';
    const current = this.state[system][i];
    if (current === ABSENT) {
      const v = Math.floor(this.rng() * variantCount(system));
      this.state[system][i] = v;
      return this.emit(system, i, 'c', null, rowOf(system, i, v));
    }
    if (r > 0.95 && present.length > 1) {
      this.state[system][i] = ABSENT;
      const old = rowOf(system, i, current);
      const before = system === 'billing' ? old : system === 'crm' ? { id: i } : { user_id: old.user_id };
      return this.emit(system, i, 'd', before, null);
    }
    const n = variantCount(system);
    const v = (current + 1 + Math.floor(this.rng() * (n - 1))) % n;
    this.state[system][i] = v;
    return this.emit(system, i, 'u', system === 'billing' ? rowOf(system, i, current) : null, rowOf(system, i, v));
  }

  /** An update of one customer's crm record to `variant` (the freshness probes' change). */
  crmUpdate(i: number, variant: number, op: 'c' | 'u' = 'u'): BenchEvent {
    this.state.crm[i] = variant;
    return this.emit('crm', i, op, null, crmRow(i, variant));
  }

  take(count: number): BenchEvent[] {
    const out: BenchEvent[] = new Array(count);
    for (let k = 0; k < count; k++) out[k] = this.next();
    return out;
  }

  private emit(system: SystemName, i: number, op: 'c' | 'u' | 'd', before: Row | null, after: Row | null): BenchEvent {
    const ref = this.refs[system];
    const row = (after ?? before) as Row;
    const key = system === 'crm' ? { id: row.id } : system === 'billing' ? { account_id: row.account_id } : { user_id: row.user_id };
    return { topic: ref.topic, key: JSON.stringify(key), body: JSON.stringify(this.log.envelope(ref, op, before, after)), system, customer: i };
  }
}
