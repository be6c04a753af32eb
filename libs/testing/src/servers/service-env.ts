import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { EnvConfig } from '@app/config';
import { ROOT, run } from './process-tools';

/** The environment variables that make a process load exactly `env` (the inverse of loadEnvConfig). */
export function envVarsOf(env: EnvConfig): Record<string, string> {
  return {
    DATABASE_URL: env.database.url,
    REDIS_URL: env.redis.url,
    REDIS_PREFIX: env.redis.prefix,
    AMQP_URL: env.amqp.url,
    AMQP_EXCHANGE: env.amqp.exchange,
    AMQP_QUEUE: env.amqp.queue,
    AMQP_PREFETCH: String(env.amqp.prefetch),
    AMQP_BINDINGS: env.amqp.bindings.join(','),
    KAFKA_BROKERS: env.kafka.brokers.join(','),
    KAFKA_GROUP_ID: env.kafka.groupId,
    KAFKA_CLIENT_ID: env.kafka.clientId,
    KAFKA_DLQ_TOPIC: env.kafka.dlqTopic,
    KAFKA_EXTRA_TOPICS: env.kafka.extraTopics.join(','),
    KAFKA_SESSION_TIMEOUT_MS: String(env.kafka.sessionTimeoutMs),
    KAFKA_FETCH_MAX_WAIT_MS: String(env.kafka.fetchMaxWaitMs),
    KAFKA_LAG_INTERVAL_MS: String(env.kafka.lagIntervalMs),
    CDC_TRANSPORT: env.cdc.transport,
    CDC_BATCH_SIZE: String(env.cdc.batchSize),
    CDC_BATCH_LINGER_MS: String(env.cdc.lingerMs),
    CDC_RETRY_MAX_MS: String(env.cdc.retryMaxMs),
    CDC_CONCURRENCY: String(env.cdc.concurrency),
    CDC_MAX_MESSAGE_BYTES: String(env.cdc.limits.maxMessageBytes),
    CDC_MAX_DEPTH: String(env.cdc.limits.maxDepth),
    CDC_MAX_KEY_LENGTH: String(env.cdc.limits.maxKeyLength),
    CDC_STALL_AFTER_MS: String(env.cdc.stallAfterMs),
    CDC_MAX_REFUSALS_IN_A_ROW: String(env.cdc.maxRefusalsInARow),
    DIRECT_PG_SLOT_PREFIX: env.directPg.slotPrefix,
    DIRECT_PG_STATUS_INTERVAL_MS: String(env.directPg.statusIntervalMs),
    DIRECT_PG_WAL_WARN_BYTES: String(env.directPg.walWarnBytes),
    HOST: env.http.host,
    PORT: String(env.http.port),
    HTTP_BODY_LIMIT: String(env.http.bodyLimit),
    GRAPHQL_MAX_DEPTH: String(env.graphql.maxDepth),
    GRAPHQL_MAX_COST: String(env.graphql.maxCost),
    GRAPHQL_MAX_QUERY_LENGTH: String(env.graphql.maxQueryLength),
    GRAPHQL_MAX_TOKENS: String(env.graphql.maxTokens),
    GRAPHQL_DOCUMENT_CACHE: String(env.graphql.documentCache),
    GRAPHQL_MAX_IDS: String(env.graphql.maxIds),
    GRAPHQL_MAX_PAGE: String(env.graphql.maxPage),
    GRAPHQL_METRIC_OPERATIONS: String(env.graphql.metricOperations),
    GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS: String(env.graphql.subscriptionAuthCheckMs),
    ALLOW_ANONYMOUS_READS: String(env.graphql.allowAnonymousReads),
    OUTBOX_RELAY: String(env.outbox.enabled),
    STATUS_EXCHANGE: env.outbox.exchange,
    RULES_ANALYSIS_THREADS: String(env.rulesAnalysis.threads),
    RULES_ANALYSIS_QUEUE: String(env.rulesAnalysis.queue),
    RULES_ANALYSIS_TIMEOUT_MS: String(env.rulesAnalysis.timeoutMs),
    CONFIG_DIR: env.configDir,
    LOG_LEVEL: env.logLevel,
  };
}

/** Empties every table of the statusview database (the rule set is seeded again at start). */
export async function emptyTables(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(`SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
    if (rows.length) await client.query(`TRUNCATE ${rows.map((r) => r.t).join(', ')}`);
  } finally {
    await client.end();
  }
}

/** Builds dist/ when it is missing or older than a source file (the built server is what runs in production). */
export async function ensureBuilt(): Promise<string> {
  const main = join(ROOT, 'dist/apps/server/src/main.js');
  const info = join(ROOT, 'dist/.tsbuildinfo');
  const builtAt = existsSync(main) && existsSync(info) ? statSync(info).mtimeMs : 0;
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return e.name !== 'test' && e.name !== 'node_modules' && newer(p);
      return p.endsWith('.ts') && !p.endsWith('.spec.ts') && statSync(p).mtimeMs > builtAt;
    });
  if (builtAt === 0 || newer(join(ROOT, 'apps')) || newer(join(ROOT, 'libs'))) {
    await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  }
  return main;
}
