import Fastify from 'fastify';
import mercurius from 'mercurius';
import { createPool } from 'mysql2/promise';
import { Pool } from 'pg';
import { legacyEnv, serverUrls } from '../bench.env';
import { Worker } from './worker.protocol';

const SCHEMA = `
type Query { customer(id: ID!): Customer }
type Customer { id: ID! status: String! reason: String! sources: [SourceStatus!]! }
type SourceStatus { system: String! recordKey: String! status: String! rule: String! raw: String! }`;

interface Source {
  system: string;
  recordKey: string;
  status: string;
  rule: string;
  raw: string;
}

// The reference domain's mapping, written in code as a team would without a rules library.
function crm(row: Record<string, unknown>): Source {
  const s = row.status as string;
  const [status, rule] =
    s === 'PROSPECT'
      ? ['PENDING', 'crm-prospect']
      : s === 'ACTIVE'
        ? ['ACTIVE', 'crm-active']
        : s === 'DORMANT'
          ? ['INACTIVE', 'crm-dormant']
          : s === 'CLOSED'
            ? ['CLOSED', 'crm-closed']
            : ['UNKNOWN', 'crm-other'];
  return { system: 'crm', recordKey: String(row.id), status, rule, raw: JSON.stringify(row) };
}

function billing(row: Record<string, unknown>): Source {
  const s = Number(row.state);
  const [status, rule] =
    s === 0
      ? ['ACTIVE', 'billing-normal']
      : s === 1
        ? ['AT_RISK', 'billing-overdue']
        : s === 2
          ? ['SUSPENDED', 'billing-suspended']
          : s === 9
            ? ['CLOSED', 'billing-written-off']
            : ['UNKNOWN', 'billing-other'];
  return { system: 'billing', recordKey: String(row.account_id), status, rule, raw: JSON.stringify(row) };
}

function portal(row: Record<string, unknown>): Source {
  const [status, rule] = row.locked
    ? ['SUSPENDED', 'portal-locked']
    : row.first_login_at
      ? ['ACTIVE', 'portal-logged-in']
      : row.registered_at
        ? ['PENDING', 'portal-registered']
        : ['UNKNOWN', 'portal-other'];
  return { system: 'portal', recordKey: String(row.user_id), status, rule, raw: JSON.stringify(row) };
}

function resolve(sources: Source[]): { status: string; reason: string } {
  const has = (system: string | null, status: string) => sources.some((s) => (system === null || s.system === system) && s.status === status);
  if (has('crm', 'CLOSED') || has('billing', 'CLOSED')) return { status: 'CLOSED', reason: 'closed' };
  if (has(null, 'SUSPENDED')) return { status: 'SUSPENDED', reason: 'suspended' };
  if (has('billing', 'AT_RISK')) return { status: 'AT_RISK', reason: 'at-risk' };
  if (has('crm', 'ACTIVE') && !sources.some((s) => s.system === 'billing')) return { status: 'PENDING', reason: 'no-billing-yet' };
  if (has(null, 'ACTIVE')) return { status: 'ACTIVE', reason: 'active' };
  if (has(null, 'PENDING')) return { status: 'PENDING', reason: 'pending' };
  if (has(null, 'INACTIVE')) return { status: 'INACTIVE', reason: 'inactive' };
  return { status: 'UNKNOWN', reason: 'fallback' };
}

export interface NaiveGraphqlArgs {
  /** The legacy databases' URLs to use instead of the bench's own (e.g. through the delay proxy). */
  legacyUrls?: Partial<Record<'LEGACY_CRM_URL' | 'LEGACY_PORTAL_URL' | 'LEGACY_BILLING_URL', string>>;
}

/**
 * The reads' "naive" reference: the GraphQL resolver a team would write instead of a view, which
 * queries the three legacy databases on each request (in parallel, by indexed customer number)
 * and maps and resolves in code. Same server stack as the service (Fastify, Mercurius with JIT).
 */
export async function naiveGraphqlWorker(args: unknown): Promise<Worker> {
  const urls = { ...legacyEnv(serverUrls()), ...((args as NaiveGraphqlArgs | null)?.legacyUrls ?? {}) };
  // What it sends to the legacy databases, for the report's "queries per read".
  const counts = { reads: 0, queries: 0 };
  const crmDb = new Pool({ connectionString: urls.LEGACY_CRM_URL, max: 16 });
  const portalDb = new Pool({ connectionString: urls.LEGACY_PORTAL_URL, max: 16 });
  const billingDb = createPool({ uri: urls.LEGACY_BILLING_URL, connectionLimit: 16, timezone: 'Z' });
  const app = Fastify({ logger: false });
  await app.register(mercurius, {
    schema: SCHEMA,
    jit: 1,
    resolvers: {
      Query: {
        customer: async (_: unknown, { id }: { id: string }) => {
          const key = id.trim().toUpperCase();
          counts.reads++;
          counts.queries += 3;
          const [c, p, b] = await Promise.all([
            crmDb.query('SELECT id, customer_no, email, status, updated_at FROM crm.customers WHERE customer_no = $1', [key]),
            portalDb.query('SELECT user_id, customer_no, registered_at, first_login_at, locked FROM portal.users WHERE customer_no = $1', [key]),
            billingDb.query('SELECT account_id, cust_ref, state, balance_cents, modified FROM accounts WHERE cust_ref = ?', [key]),
          ]);
          const sources = [...c.rows.map(crm), ...(b[0] as Array<Record<string, unknown>>).map(billing), ...p.rows.map(portal)];
          if (sources.length === 0) return null;
          return { id: key, ...resolve(sources), sources };
        },
      },
    },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    info: { url: address },
    async handle(cmd) {
      if (cmd === 'counts') return { ...counts };
      throw new Error(`unknown command ${cmd}`);
    },
    async stop() {
      await app.close();
      await Promise.all([crmDb.end(), portalDb.end(), billingDb.end()]);
    },
  };
}
