import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { ReplicationSlotAdmin } from '@app/cdc';
import { DomainConfig, EnvConfig, fromRoot, readDocument, SourceSystem } from '@app/config';

/** What the demo reads straight from legacy databases of its own, and what it needs for that. */
export interface DirectDemo {
  systems: SourceSystem[];
  /** The service's settings for them: the connection URLs, CDC_DIRECT_SYSTEMS, the slot prefix. */
  env: Record<string, string>;
  /** A command the user can run to change a status in a legacy database (config/demo/direct.yaml), and whose. */
  tryIt: { command: string; customer: string } | null;
  /** Drops the demo's slots and publications, so that no WAL stays pinned on the user's server. */
  dropSlots(): Promise<void>;
}

type Say = (line: string) => void;
type Prepared = Omit<DirectDemo, 'tryIt'> & { urls: Record<string, string> };

const SLOT_PREFIX = 'statusview_demo';

/**
 * The direct path, when the local servers allow it: for each system that has reference DDL and
 * seed rows (config/legacy/<system>.sql, config/legacy/docker/<system>.seed.sql), a fresh legacy
 * database `statusview_demo_<system>`, loaded: the PostgreSQL systems on the view's server when
 * its wal_level is logical, the MySQL systems on MariaDB (DEMO_MYSQL_URL, default
 * mysql://root@127.0.0.1:3306) when its binlog is on and row-based. Never reconfigures a server:
 * it says how to turn the setting on, and those systems keep to published Debezium events.
 */
export async function prepareDirectDemo(env: EnvConfig, domain: DomainConfig, say: Say): Promise<DirectDemo | null> {
  const legacyDir = join(fromRoot(env.configDir), 'legacy');
  const seeded = domain.sources.systems.filter((s) => existsSync(join(legacyDir, `${s.name}.sql`)) && existsSync(join(legacyDir, 'docker', `${s.name}.seed.sql`)));
  const of = (dialect: string) => seeded.filter((s) => s.connection?.dialect === dialect);
  const parts = [await preparePostgres(env, of('postgres'), legacyDir, say), await prepareMysql(of('mysql'), legacyDir, say)].filter((p): p is Prepared => p !== null);
  if (parts.length === 0) return null;
  const systems = parts.flatMap((p) => p.systems);
  const urls = Object.assign({}, ...parts.map((p) => p.urls)) as Record<string, string>;
  const suggested = (readDocument(join(fromRoot(env.configDir), 'demo/direct.yaml')) as { tryIt?: { system: string; statement: string; customer: string } }).tryIt;
  const target = systems.find((s) => s.name === suggested?.system && s.connection?.dialect === 'postgres');
  return {
    systems,
    env: { ...urls, CDC_DIRECT_SYSTEMS: systems.map((s) => s.name).join(','), DIRECT_PG_SLOT_PREFIX: SLOT_PREFIX },
    tryIt: suggested && target ? { command: `psql '${urls[target.connection!.urlEnv]}' -c "${suggested.statement}"`, customer: suggested.customer } : null,
    dropSlots: async () => {
      for (const p of parts) await p.dropSlots();
    },
  };
}

async function preparePostgres(env: EnvConfig, candidates: SourceSystem[], legacyDir: string, say: Say): Promise<Prepared | null> {
  if (candidates.length === 0) return null;
  const server = new URL(env.database.url);
  const admin = new Client({ connectionString: urlOf(server, 'postgres') });
  await admin.connect();
  try {
    const walLevel = (await admin.query<{ wal_level: string }>('SHOW wal_level')).rows[0].wal_level;
    if (walLevel !== 'logical') {
      say(`direct CDC: PostgreSQL's wal_level is ${walLevel}, so ${names(candidates)} come as published Debezium events instead.`);
      say('  To read them straight from PostgreSQL, run ALTER SYSTEM SET wal_level = logical; as a superuser, restart PostgreSQL, and run the demo again.');
      return null;
    }
    const urls: Record<string, string> = {};
    for (const system of candidates) {
      const database = `statusview_demo_${system.name}`;
      const url = urlOf(server, database);
      // A slot of an earlier run keeps its database: it goes first.
      if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount) await dropSlot(url, system);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${database}`);
      const legacy = new Client({ connectionString: url });
      await legacy.connect();
      try {
        await legacy.query(readFileSync(join(legacyDir, `${system.name}.sql`), 'utf8'));
        await legacy.query(readFileSync(join(legacyDir, 'docker', `${system.name}.seed.sql`), 'utf8'));
      } finally {
        await legacy.end();
      }
      urls[system.connection!.urlEnv] = url;
    }
    return {
      systems: candidates,
      urls,
      env: urls,
      dropSlots: async () => {
        for (const system of candidates) await dropSlot(urls[system.connection!.urlEnv], system).catch(() => undefined);
      },
    };
  } finally {
    await admin.end();
  }
}

async function prepareMysql(candidates: SourceSystem[], legacyDir: string, say: Say): Promise<Prepared | null> {
  if (candidates.length === 0) return null;
  const server = (process.env.DEMO_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
  const admin = await createConnection({ uri: server, multipleStatements: true }).catch((e: Error) => {
    say(`direct CDC: MariaDB/MySQL at ${server.replace(/\/\/[^@]*@/, '//')} cannot be reached (${e.message}): ${names(candidates)} come as published Debezium events.`);
    return null;
  });
  if (!admin) return null;
  try {
    const [rows] = await admin.query('SELECT @@log_bin AS logBin, @@binlog_format AS format');
    const { logBin, format } = (rows as Array<{ logBin: number | string; format: string }>)[0];
    if (Number(logBin) !== 1 || format !== 'ROW') {
      say(`direct CDC: MariaDB's binlog is ${Number(logBin) === 1 ? `${format}, not row-based` : 'off'}, so ${names(candidates)} come as published Debezium events instead.`);
      say('  To read them straight from the binlog, set log_bin, binlog_format = ROW and binlog_row_image = FULL under [mysqld], restart MariaDB, and run the demo again.');
      return null;
    }
    const urls: Record<string, string> = {};
    for (const system of candidates) {
      const database = `statusview_demo_${system.name}`;
      // Seeded before the service starts: its first start loads the table in a consistent snapshot.
      const ddl = readFileSync(join(legacyDir, `${system.name}.sql`), 'utf8');
      const seed = readFileSync(join(legacyDir, 'docker', `${system.name}.seed.sql`), 'utf8');
      await admin.query(`DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database};\n${ddl}\n${seed}`);
      urls[system.connection!.urlEnv] = `${server}/${database}`;
    }
    return {
      systems: candidates,
      urls,
      env: urls,
      dropSlots: () => Promise.resolve(),
    };
  } finally {
    await admin.end();
  }
}

function names(systems: SourceSystem[]): string {
  return systems.map((s) => s.name).join(' and ');
}

function urlOf(server: URL, database: string): string {
  const u = new URL(server.toString());
  u.pathname = `/${database}`;
  return u.toString();
}

async function dropSlot(url: string, system: SourceSystem): Promise<void> {
  const admin = await ReplicationSlotAdmin.open(url, system, SLOT_PREFIX);
  try {
    await admin.drop();
  } finally {
    await admin.close();
  }
}
