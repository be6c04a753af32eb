import { performance } from 'node:perf_hooks';
import { customerId } from '../data/reference-data';

export const ACTIVE = 0; // CRM_VARIANTS[0]
export const DORMANT = 2; // CRM_VARIANTS[2]

/** The probe customers' crm row ids: above every seeded and streamed customer, untouched by the background load. */
export function probeIds(n: number): number[] {
  return Array.from({ length: n }, (_, k) => 900_000 + 1 + k);
}

const STATUS_QUERY = 'query($id: ID!) { customer(id: $id) { status } }';

/** A customer's status through the service's GraphQL at `url` (null: no such customer). */
export function graphqlStatus(url: string): (id: string) => Promise<string | null> {
  return async (id) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: STATUS_QUERY, variables: { id } }) });
    const body = (await res.json()) as { data?: { customer: { status: string } | null } };
    return body.data?.customer?.status ?? null;
  };
}

/** Waits until every probe customer shows `expected` (10 s each at most), before the clock starts. */
export async function awaitProbes(probes: readonly number[], status: (id: string) => Promise<string | null>, expected: string): Promise<void> {
  for (const i of probes) {
    const deadline = Date.now() + 10_000;
    while ((await status(customerId(i))) !== expected) {
      if (Date.now() > deadline) throw new Error(`probe customer ${customerId(i)} never appeared`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export interface StatusProbeOptions {
  /** The probe customers' crm row ids, each ACTIVE when the probes start. */
  probes: readonly number[];
  durationS: number;
  /** The canonical status a crm variant maps to. */
  statusOf: (variant: number) => string;
  /** The customer's status as GraphQL shows it. */
  status: (id: string) => Promise<string | null>;
  /** Makes the crm row of probe `i` the given variant (a published event, a legacy UPDATE). */
  change: (i: number, variant: number) => Promise<void> | void;
  /** Told each probe's outcome as it ends: its latency in ms, or null for a timeout (the soak buckets them per minute). */
  onProbe?: (ms: number | null) => void;
}

/**
 * Freshness, one probe at a time for `durationS`: a probe customer's crm status is flipped
 * between ACTIVE and DORMANT, and GraphQL polled every ~2 ms until it shows (10 s at most: a
 * timeout); then a pause of 20–60 ms. Returns each probe's time from the change to it showing.
 */
export async function probeStatusChanges(o: StatusProbeOptions): Promise<{ latencies: number[]; timeouts: number; changes: number }> {
  const variant = new Map(o.probes.map((i) => [i, ACTIVE]));
  const latencies: number[] = [];
  let timeouts = 0;
  let changes = 0;
  const until = performance.now() + o.durationS * 1000;
  for (let k = 0; performance.now() < until; k++) {
    const i = o.probes[k % o.probes.length];
    const next = variant.get(i) === ACTIVE ? DORMANT : ACTIVE;
    variant.set(i, next);
    const expected = o.statusOf(next);
    const t0 = performance.now();
    await o.change(i, next);
    changes++;
    let seen = false;
    while (performance.now() - t0 < 10_000) {
      if ((await o.status(customerId(i))) === expected) {
        seen = true;
        break;
      }
      await sleep(2);
    }
    const ms = seen ? performance.now() - t0 : null;
    if (ms !== null) latencies.push(ms);
    else timeouts++;
    o.onProbe?.(ms);
    await sleep(20 + (k % 5) * 10);
  }
  return { latencies, timeouts, changes };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
