import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Migrations, projectionMigrations } from './migrations';

/**
 * `migrations`: what the process keeps in this database. The projection's own by default; a
 * process that holds other libraries' tables too passes theirs as well (libs/bootstrap).
 */
export function createDataSource(url: string, poolSize = 10, migrations: Migrations = projectionMigrations): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: [...migrations],
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: { max: poolSize, connectionTimeoutMillis: 5000 },
  });
}

/** Creates the database named in `url` if it does not exist yet (a fresh machine has none). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    // Two processes creating it at once: the loser sees duplicate_database, which is fine.
    if ((e as { code?: string }).code !== '42P04') throw e;
  } finally {
    await client.end();
  }
}

/** Connects, creating the database if needed, and runs the pending ones of `migrations` (see createDataSource). */
export async function openDatabase(url: string, poolSize = 10, migrations: Migrations = projectionMigrations): Promise<DataSource> {
  await ensureDatabase(url);
  const ds = createDataSource(url, poolSize, migrations);
  await ds.initialize();
  // The lock holds one connection while the migrations take another: a pool of one migrates
  // through a pool of two of its own (it would wait for itself until the connect timeout).
  const migrator = poolSize >= 2 ? ds : await createDataSource(url, 2, migrations).initialize();
  try {
    // Instances starting together must not run the same migration twice.
    const runner = migrator.createQueryRunner();
    try {
      await runner.query('SELECT pg_advisory_lock(7316001)');
      await migrator.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock(7316001)').catch(() => undefined);
      await runner.release();
    }
  } finally {
    if (migrator !== ds) await migrator.destroy();
  }
  return ds;
}
