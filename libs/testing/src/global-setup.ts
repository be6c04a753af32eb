import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
// Jest's global setup runs outside its module mapper: resolve the @app/* aliases here.
import 'tsconfig-paths/register';
import { openStatusviewDatabase } from '@app/bootstrap';

/**
 * Once per test run: a database of its own, migrated. Every test file then uses its own Redis
 * key prefix and RabbitMQ exchange/queue names (see test-env.ts), so runs do not disturb each other.
 */
export default async function globalSetup(): Promise<void> {
  const base = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `statusview_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = new URL(base);
  url.pathname = `/${name}`;
  const admin = new Client({ connectionString: base, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`integration tests need PostgreSQL at ${base}: ${(e as Error).message}`);
  }
  // Databases of earlier runs that died before their teardown: only those older than a day, so
  // that runs going on at the same time (other sessions, CI) keep theirs.
  const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'statusview_test_%' AND datname <> $1`, [name]);
  for (const r of rows as { datname: string }[]) {
    const born = parseInt(r.datname.split('_')[2] ?? '', 36);
    if (Number.isFinite(born) && Date.now() - born > 86_400_000) {
      await admin.query(`DROP DATABASE IF EXISTS "${r.datname}"`).catch(() => undefined);
    }
  }
  await admin.end();
  const ds = await openStatusviewDatabase(url.toString());
  await ds.destroy();
  process.env.TEST_DATABASE_URL = url.toString();
  process.env.TEST_RUN_ID = name;
}
