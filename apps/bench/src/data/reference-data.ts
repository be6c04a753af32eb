import { normalizeRow } from '@app/change-events';
import { DomainConfig } from '@app/config';

/**
 * The reference domain's customers, generated deterministically: customer `i` (1-based) has the
 * id `C-000000i`, and per system either no record or one of a few variants (a crm status, a
 * billing state, a portal situation). Everything else in a row is a function of `i`, written once
 * here in TypeScript and once in SQL (the seeders), so that the view, the legacy tables and the
 * change events all describe the same customers. The first n customers of a larger set are the
 * same as those of a smaller one.
 */

export const CRM_VARIANTS = [
  { status: 'ACTIVE', weight: 55 },
  { status: 'PROSPECT', weight: 15 },
  { status: 'DORMANT', weight: 20 },
  { status: 'CLOSED', weight: 8 },
  // Not in the mapping table: mapped by the fallback and reported as unmapped.
  { status: 'LEAD', weight: 2 },
] as const;

export const BILLING_VARIANTS = [
  { state: 0, weight: 75 },
  { state: 1, weight: 12 },
  { state: 2, weight: 5 },
  { state: 9, weight: 5 },
  { state: 5, weight: 3 },
] as const;

export const PORTAL_VARIANTS = [
  { login: true, locked: false, weight: 70 },
  { login: false, locked: false, weight: 25 },
  { login: true, locked: true, weight: 5 },
] as const;

/** Share of customers with a record in each system (crm is added when a customer would have none). */
const PRESENCE = { crm: 0.9, billing: 0.75, portal: 0.6 };

export type SystemName = 'crm' | 'billing' | 'portal';
export const SYSTEMS: readonly SystemName[] = ['crm', 'billing', 'portal'];

export const ABSENT = -1;

/** Base times of the generated rows. */
export const CRM_BASE_MICROS = Date.UTC(2023, 0, 1) * 1000;
export const BILLING_BASE_MS = Date.UTC(2023, 2, 1);
export const PORTAL_BASE_MS = Date.UTC(2023, 5, 1);

export function customerId(i: number): string {
  return `C-${String(i).padStart(7, '0')}`;
}

export function portalUserId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** What billing keeps in `cust_ref`: every tenth in lower case, every tenth with a trailing space. */
export function messyCustRef(i: number): string {
  const id = customerId(i);
  if (i % 10 === 3) return id.toLowerCase();
  if (i % 10 === 7) return `${id} `;
  return id;
}

/** Debezium's ZonedTimestamp: ISO-8601 in UTC without a zero fraction. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export type Row = Record<string, unknown>;

export function crmRow(i: number, variant: number): Row {
  return {
    id: i,
    customer_no: customerId(i),
    email: `c${i}@example.com`,
    status: CRM_VARIANTS[variant].status,
    updated_at: CRM_BASE_MICROS + i * 1_000_000,
  };
}

export function billingRow(i: number, variant: number): Row {
  return {
    account_id: i,
    cust_ref: messyCustRef(i),
    state: BILLING_VARIANTS[variant].state,
    balance_cents: (i * 7919) % 1_000_000,
    modified: BILLING_BASE_MS + i * 1000,
  };
}

export function portalRow(i: number, variant: number): Row {
  const v = PORTAL_VARIANTS[variant];
  const registered = PORTAL_BASE_MS + i * 1000;
  return {
    user_id: portalUserId(i),
    customer_no: customerId(i),
    registered_at: isoSeconds(registered),
    first_login_at: v.login ? isoSeconds(registered + 86_400_000) : null,
    locked: v.locked,
  };
}

export function rowOf(system: SystemName, i: number, variant: number): Row {
  return system === 'crm' ? crmRow(i, variant) : system === 'billing' ? billingRow(i, variant) : portalRow(i, variant);
}

export function variantCount(system: SystemName): number {
  return system === 'crm' ? CRM_VARIANTS.length : system === 'billing' ? BILLING_VARIANTS.length : PORTAL_VARIANTS.length;
}

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same data on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(weights: ReadonlyArray<{ weight: number }>, r: number): number {
  const total = weights.reduce((s, w) => s + w.weight, 0);
  let x = r * total;
  for (let v = 0; v < weights.length; v++) {
    x -= weights[v].weight;
    if (x < 0) return v;
  }
  return weights.length - 1;
}

/** The variant of each system for customers 1..n. */
export class ReferenceCustomers {
  readonly crm: Int8Array;
  readonly billing: Int8Array;
  readonly portal: Int8Array;

  constructor(
    readonly count: number,
    readonly seed = 20_241_124,
  ) {
    this.crm = new Int8Array(count + 1).fill(ABSENT);
    this.billing = new Int8Array(count + 1).fill(ABSENT);
    this.portal = new Int8Array(count + 1).fill(ABSENT);
    const rng = prng(seed);
    for (let i = 1; i <= count; i++) {
      // Always six draws per customer, so that customer i is the same whatever the count.
      const [pc, vc, pb, vb, pp, vp] = [rng(), rng(), rng(), rng(), rng(), rng()];
      if (pb < PRESENCE.billing) this.billing[i] = pick(BILLING_VARIANTS, vb);
      if (pp < PRESENCE.portal) this.portal[i] = pick(PORTAL_VARIANTS, vp);
      if (pc < PRESENCE.crm || (this.billing[i] === ABSENT && this.portal[i] === ABSENT)) this.crm[i] = pick(CRM_VARIANTS, vc);
    }
  }

  variants(system: SystemName): Int8Array {
    return system === 'crm' ? this.crm : system === 'billing' ? this.billing : this.portal;
  }

  /** Customers (and their variant) that have a record in `system`, between `from` and `to` inclusive. */
  present(system: SystemName, from = 1, to = this.count): { ids: number[]; variants: number[] } {
    const all = this.variants(system);
    const ids: number[] = [];
    const variants: number[] = [];
    for (let i = from; i <= to; i++) {
      if (all[i] !== ABSENT) {
        ids.push(i);
        variants.push(all[i]);
      }
    }
    return { ids, variants };
  }
}

export interface VariantMapping {
  variant: number;
  /** The legacy value that decides the variant: crm status, billing state; portal has none. */
  value: string | null;
  status: string;
  rule: string;
  unmappedField: string | null;
  unmappedValue: string | null;
}

/**
 * How the active rule set maps each variant, and resolves each combination of variants: computed
 * with the real compiled rules, so that the seeded view is exactly what the projection would hold.
 */
export class ReferenceMappings {
  readonly bySystem: Record<SystemName, VariantMapping[]>;
  /** key = comboKey(crm, billing, portal) */
  readonly combos: Array<{ key: number; status: string; reason: string }> = [];

  constructor(domain: DomainConfig) {
    const { compiled } = domain.rules;
    const fields = new Map(domain.sources.systems.map((s) => [s.name, s.fields]));
    const map = (system: SystemName, variant: number) => compiled.map(system, normalizeRow(fields.get(system) ?? {}, rowOf(system, 1, variant)), Date.now());
    const table = (system: SystemName): VariantMapping[] =>
      Array.from({ length: variantCount(system) }, (_, v) => {
        const m = map(system, v);
        const value = system === 'crm' ? CRM_VARIANTS[v].status : system === 'billing' ? String(BILLING_VARIANTS[v].state) : null;
        return { variant: v, value, status: m.status, rule: m.rule, unmappedField: m.unmapped?.field ?? null, unmappedValue: m.unmapped?.value ?? null };
      });
    this.bySystem = { crm: table('crm'), billing: table('billing'), portal: table('portal') };
    const masks = new Int32Array(compiled.systems.length);
    for (let c = ABSENT; c < CRM_VARIANTS.length; c++) {
      for (let b = ABSENT; b < BILLING_VARIANTS.length; b++) {
        for (let p = ABSENT; p < PORTAL_VARIANTS.length; p++) {
          if (c === ABSENT && b === ABSENT && p === ABSENT) continue;
          masks.fill(0);
          const add = (system: SystemName, v: number) => {
            const s = compiled.systemIndex(system);
            if (v !== ABSENT && s !== undefined) masks[s] |= 1 << compiled.statusIndex(this.bySystem[system][v].status);
          };
          add('crm', c);
          add('billing', b);
          add('portal', p);
          const r = compiled.resolve(masks);
          this.combos.push({ key: comboKey(c, b, p), status: r.status, reason: r.reason });
        }
      }
    }
  }

  statusOf(crm: number, billing: number, portal: number): string {
    const key = comboKey(crm, billing, portal);
    const combo = this.combos.find((c) => c.key === key);
    if (!combo) throw new Error(`no combination ${key}`);
    return combo.status;
  }
}

export function comboKey(crm: number, billing: number, portal: number): number {
  return (crm + 1) * 100 + (billing + 1) * 10 + (portal + 1);
}
