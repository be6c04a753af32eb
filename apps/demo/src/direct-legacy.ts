import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { ReplicationSlotAdmin } from "@app/cdc";
import {
  DomainConfig,
  EnvConfig,
  fromRoot,
  readDocument,
  SourceSystem,
} from "@app/config";

/** What the demo reads straight from a legacy database of its own, and what it needs for that. */
export interface DirectDemo {
  systems: SourceSystem[];
  /** The service's settings for them: the connection URLs, CDC_DIRECT_SYSTEMS, the slot prefix. */
  env: Record<string, string>;
  /** A command the user can run to change a status in a legacy database (config/demo/direct.yaml), and whose. */
  tryIt: { command: string; customer: string } | null;
  /** Drops the demo's slots and publications, so that no WAL stays pinned on the user's server. */
  dropSlots(): Promise<void>;
}

const SLOT_PREFIX = "statusview_demo";

/**
 * The direct path, when the local PostgreSQL allows it: for each PostgreSQL system that has
 * reference DDL and seed rows (config/legacy/<system>.sql, config/legacy/docker/<system>.seed.sql),
 * a fresh legacy database `statusview_demo_<system>` on the view's server, loaded. Never
 * reconfigures the server: when wal_level is not logical it says how to turn it on, and the demo
 * keeps to published Debezium events.
 */
export async function prepareDirectDemo(
  env: EnvConfig,
  domain: DomainConfig,
  say: (line: string) => void,
): Promise<DirectDemo | null> {
  const legacyDir = join(fromRoot(env.configDir), "legacy");
  const candidates = domain.sources.systems.filter(
    (s) =>
      s.connection?.dialect === "postgres" &&
      existsSync(join(legacyDir, `${s.name}.sql`)) &&
      existsSync(join(legacyDir, "docker", `${s.name}.seed.sql`)),
  );
  if (candidates.length === 0) return null;
  const server = new URL(env.database.url);
  const admin = new Client({ connectionString: urlOf(server, "postgres") });
  await admin.connect();
  try {
    const walLevel = (
      await admin.query<{ wal_level: string }>("SHOW wal_level")
    ).rows[0].wal_level;
    if (walLevel !== "logical") {
      say(
        `direct CDC: PostgreSQL's wal_level is ${walLevel}, so ${candidates.map((s) => s.name).join(" and ")} come as published Debezium events instead.`,
      );
      say(
        `  To read them straight from PostgreSQL, run ALTER SYSTEM SET wal_level = logical; as a superuser, restart PostgreSQL, and run the demo again.`,
      );
      return null;
    }
    const urls: Record<string, string> = {};
    for (const system of candidates) {
      const database = `statusview_demo_${system.name}`;
      const url = urlOf(server, database);
      // A slot of an earlier run keeps its database: it goes first.
      if (
        (
          await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [
            database,
          ])
        ).rowCount
      )
        await dropSlot(url, system);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${database}`);
      const legacy = new Client({ connectionString: url });
      await legacy.connect();
      try {
        await legacy.query(
          readFileSync(join(legacyDir, `${system.name}.sql`), "utf8"),
        );
        await legacy.query(
          readFileSync(
            join(legacyDir, "docker", `${system.name}.seed.sql`),
            "utf8",
          ),
        );
      } finally {
        await legacy.end();
      }
      urls[system.connection!.urlEnv] = url;
    }
    const suggested = (
      readDocument(join(fromRoot(env.configDir), "demo/direct.yaml")) as {
        tryIt?: { system: string; statement: string; customer: string };
      }
    ).tryIt;
    const tryIt =
      suggested &&
      urls[
        candidates.find((s) => s.name === suggested.system)?.connection
          ?.urlEnv ?? ""
      ]
        ? {
            command: `psql '${urls[candidates.find((s) => s.name === suggested.system)!.connection!.urlEnv]}' -c "${suggested.statement}"`,
            customer: suggested.customer,
          }
        : null;
    return {
      systems: candidates,
      env: {
        ...urls,
        CDC_DIRECT_SYSTEMS: candidates.map((s) => s.name).join(","),
        DIRECT_PG_SLOT_PREFIX: SLOT_PREFIX,
      },
      tryIt,
      dropSlots: async () => {
        for (const system of candidates)
          await dropSlot(urls[system.connection!.urlEnv], system).catch(
            () => undefined,
          );
      },
    };
  } finally {
    await admin.end();
  }
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
