import { randomBytes } from 'node:crypto';
import { EnvConfig, loadEnvConfig } from '@app/config';

/**
 * Configuration for one test file: the run's own database, and Redis keys, exchange and queue
 * names of the file's own, so files and runs never see each other's data.
 */
export function testEnv(overrides: Record<string, string> = {}): EnvConfig {
  const id = `${process.env.TEST_RUN_ID ?? 'statusview_test'}_${randomBytes(3).toString('hex')}`;
  return loadEnvConfig({
    DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/statusview_test',
    REDIS_PREFIX: `${id}:`,
    AMQP_EXCHANGE: `${id}.cdc`,
    AMQP_QUEUE: `${id}.queue`,
    STATUS_EXCHANGE: `${id}.status`,
    PORT: '0',
    HOST: '127.0.0.1',
    CDC_BATCH_LINGER_MS: '5',
    CDC_RETRY_MAX_MS: '500',
    ALLOW_ANONYMOUS_READS: 'true',
    ...overrides,
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface GraphqlResponse<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphqlResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphqlResponse<T>;
}
