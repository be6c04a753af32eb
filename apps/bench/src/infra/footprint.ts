import { readdirSync, readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { Client } from 'pg';

/** The projection's tables that grow with customers and changes (issue 18). */
export const SOAK_TABLES = ['customer', 'source_record', 'status_history', 'status_outbox'] as const;
export type SoakTable = (typeof SOAK_TABLES)[number];

export interface Rss {
  /** VmRSS: resident memory, shared pages included. */
  rssBytes: number;
  /** RssAnon: the private part (heap, stacks); for PostgreSQL what a backend holds of its own, shared buffers left out. */
  anonBytes: number;
  /** Processes summed. */
  processes: number;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** VmRSS and RssAnon of the processes (Linux /proc/<pid>/status), summed; those gone are left out. */
export function rssOf(pids: readonly number[]): Rss {
  const sum: Rss = { rssBytes: 0, anonBytes: 0, processes: 0 };
  for (const pid of pids) {
    const status = read(`/proc/${pid}/status`);
    if (!status) continue;
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    sum.rssBytes += kb('VmRSS');
    sum.anonBytes += kb('RssAnon');
    sum.processes++;
  }
  return sum;
}

/** Every process whose command name (/proc/<pid>/comm) is `comm`: the servers', by name (`redis-server`, `beam.smp`). */
export function pidsByName(comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && read(`/proc/${name}/comm`)?.trim() === comm) out.push(Number(name));
  }
  return out;
}

/**
 * Samples the RSS of named groups of processes every `intervalMs` and keeps, per minute, the mean
 * and the highest of each group's sum: one sample a minute would be one GC's luck.
 */
export class RssWatch {
  private timer?: NodeJS.Timeout;
  private bucket = new Map<string, { rss: number[]; anon: number[]; processes: number }>();

  constructor(
    /** Group name → its pids now (asked at each sample: a server may restart, a pool may grow). */
    private readonly groups: () => Record<string, readonly number[]>,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The minute's aggregates (MB), and a fresh bucket for the next. */
  take(): Record<string, { meanMb: number; maxMb: number; anonMeanMb: number; processes: number }> {
    this.sample();
    const out: Record<string, { meanMb: number; maxMb: number; anonMeanMb: number; processes: number }> = {};
    const mb = (b: number) => b / 1048576;
    for (const [name, b] of this.bucket) {
      out[name] = { meanMb: mb(mean(b.rss)), maxMb: mb(Math.max(...b.rss)), anonMeanMb: mb(mean(b.anon)), processes: b.processes };
    }
    this.bucket = new Map();
    return out;
  }

  private sample(): void {
    for (const [name, pids] of Object.entries(this.groups())) {
      const r = rssOf(pids);
      const b = this.bucket.get(name) ?? { rss: [], anon: [], processes: 0 };
      b.rss.push(r.rssBytes);
      b.anon.push(r.anonBytes);
      b.processes = Math.max(b.processes, r.processes);
      this.bucket.set(name, b);
    }
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export interface TableFootprint {
  table: SoakTable;
  /** pg_table_size: heap, TOAST, free space and visibility maps. */
  tableBytes: number;
  indexBytes: number;
  /** pg_total_relation_size: the two above. */
  totalBytes: number;
  liveRows: number;
  deadRows: number;
  autovacuums: number;
}

/** Sizes and row counts of the soak's tables as the statistics collector has them now. */
export async function tableFootprints(db: Client): Promise<TableFootprint[]> {
  const r = await db.query<{ table: SoakTable; t: string; i: string; total: string; live: string | null; dead: string | null; av: string | null }>(
    `SELECT t.name AS table, pg_table_size(c.oid) AS t, pg_indexes_size(c.oid) AS i, pg_total_relation_size(c.oid) AS total,
            s.n_live_tup AS live, s.n_dead_tup AS dead, s.autovacuum_count AS av
     FROM unnest($1::text[]) AS t(name)
     JOIN pg_class c ON c.oid = to_regclass(t.name)
     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid`,
    [SOAK_TABLES],
  );
  return r.rows.map((x) => ({
    table: x.table,
    tableBytes: Number(x.t),
    indexBytes: Number(x.i),
    totalBytes: Number(x.total),
    liveRows: Number(x.live ?? 0),
    deadRows: Number(x.dead ?? 0),
    autovacuums: Number(x.av ?? 0),
  }));
}

export interface CompactSize {
  table: SoakTable;
  rows: number;
  /** The same rows copied into a new table with the table's fillfactor, and its indexes built anew: what VACUUM FULL would leave. */
  tableBytes: number;
  indexBytes: number;
  totalBytes: number;
}

/**
 * The live size of each table, measured: its rows copied (CREATE TEMP TABLE … AS SELECT, same
 * fillfactor, no WAL) and every index of the table built on the copy from its own definition,
 * inside a transaction that is rolled back. A measured copy rather than an estimate from
 * pg_stats' average widths, which leaves out alignment, page headers, fill and index structure.
 */
export async function compactSizes(db: Client): Promise<CompactSize[]> {
  const out: CompactSize[] = [];
  for (const table of SOAK_TABLES) {
    await db.query('BEGIN');
    try {
      const [{ ff }] = (
        await db.query<{ ff: string | null }>(`SELECT (SELECT split_part(o, '=', 2) FROM unnest(reloptions) o WHERE o LIKE 'fillfactor=%') AS ff FROM pg_class WHERE oid = to_regclass($1)`, [table])
      ).rows;
      const copy = `soak_compact_${table}`;
      const res = await db.query(`CREATE TEMP TABLE ${copy} WITH (fillfactor = ${Number(ff ?? 100)}) AS SELECT * FROM ${table}`);
      const defs = (await db.query<{ def: string }>('SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = to_regclass($1)', [table])).rows;
      for (const { def } of defs) {
        // `CREATE [UNIQUE] INDEX name ON [ONLY] public.table USING …` → an unnamed index on the copy.
        const onCopy = def.replace(/^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ /, `$1 ON ${copy} `);
        if (onCopy === def) throw new Error(`cannot read the index definition "${def}"`);
        await db.query(onCopy);
      }
      const sizes = (await db.query<{ t: string; i: string }>('SELECT pg_table_size($1::regclass) AS t, pg_indexes_size($1::regclass) AS i', [copy])).rows[0];
      out.push({ table, rows: res.rowCount ?? 0, tableBytes: Number(sizes.t), indexBytes: Number(sizes.i), totalBytes: Number(sizes.t) + Number(sizes.i) });
    } finally {
      await db.query('ROLLBACK');
    }
  }
  return out;
}

/** Redis' own memory figures (INFO memory): the whole server's, every prefix included. */
export async function redisMemory(url: string): Promise<{ usedBytes: number; rssBytes: number }> {
  const redis = new Redis(url);
  try {
    const info = await redis.info('memory');
    const field = (f: string) => Number(new RegExp(`^${f}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return { usedBytes: field('used_memory'), rssBytes: field('used_memory_rss') };
  } finally {
    redis.disconnect();
  }
}
