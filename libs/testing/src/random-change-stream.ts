import { DebeziumLog, Row, TableRef } from '@app/cdc';
import { BILLING, CRM } from './test-app';

/** mulberry32: the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface StreamMessage {
  topic: string;
  /** The record key, as Debezium keys its Kafka messages (null for a truncate). */
  key: Row | null;
  body: Row;
}

/**
 * A random stream of crm and billing change events as Debezium would send it (positions
 * increasing): creates, status updates, records moving to another customer right after their
 * creation, deletes with the full row and with the key only, one truncate, and redeliveries (the
 * same message again at once, or rarely much later). The same stream for the same seed.
 */
export function randomChangeStream(seed: number, opts: { events: number; customers: number }): StreamMessage[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const log = new DebeziumLog();
  const customers = Array.from({ length: opts.customers }, (_, i) => `SO-${String(i).padStart(4, '0')}`);
  const crm = new Map<number, Row>();
  const billing = new Map<number, Row>();
  const out: StreamMessage[] = [];
  const emit = (t: TableRef, op: 'c' | 'u' | 'd' | 't', key: Row | null, before: Row | null, after: Row | null) => {
    const m = { topic: t.topic, key, body: log.envelope(t, op, before, after) };
    out.push(m);
    // At least once: the same message again, now or (rarely) much later.
    if (rnd() < 0.05) out.push(m);
    if (rnd() < 0.03 && out.length > 20) out.push(out[Math.floor(rnd() * (out.length - 1))]);
  };
  const crmRow = (id: number, customer: string): Row => ({ id, customer_no: customer, email: null, status: pick(['PROSPECT', 'ACTIVE', 'DORMANT', 'CLOSED']), updated_at: 1 });
  const billingRow = (id: number, customer: string): Row => ({
    account_id: id,
    cust_ref: rnd() < 0.3 ? ` ${customer.toLowerCase()} ` : customer,
    state: pick([0, 1, 2, 9]),
    balance_cents: 0,
    modified: 1,
  });
  let truncated = false;
  while (out.length < opts.events) {
    if (!truncated && out.length > opts.events * 0.6) {
      emit(BILLING, 't', null, null, null);
      billing.clear();
      truncated = true;
      continue;
    }
    const isCrm = rnd() < 0.6;
    const table = isCrm ? crm : billing;
    const ref = isCrm ? CRM : BILLING;
    const make = isCrm ? crmRow : billingRow;
    const id = 1 + Math.floor(rnd() * (isCrm ? 150 : 100));
    const key = isCrm ? { id } : { account_id: id };
    const current = table.get(id);
    if (!current) {
      const row = make(id, pick(customers));
      emit(ref, 'c', key, null, row);
      table.set(id, row);
      // Created and moved right after: the two events land in different batches, on different instances.
      if (rnd() < 0.5) {
        const moved = make(id, pick(customers));
        emit(ref, 'u', key, row, moved);
        table.set(id, moved);
      }
      continue;
    }
    const r = rnd();
    if (r < 0.15) {
      // Deletes: crm sometimes with the key only (PostgreSQL's default replica identity).
      emit(ref, 'd', key, isCrm && rnd() < 0.5 ? { id } : current, null);
      table.delete(id);
    } else {
      const customer = isCrm ? (current.customer_no as string) : String(current.cust_ref).trim().toUpperCase();
      const next = make(id, r < 0.45 ? pick(customers) : customer);
      emit(ref, 'u', key, current, next);
      table.set(id, next);
    }
  }
  return out;
}
