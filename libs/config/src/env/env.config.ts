import { ConfigError } from '../config.errors';
import { redactUrl } from './url-redaction';

export type CdcTransport = 'amqp' | 'kafka';

/** What one change event may be, checked by the decoder before anything else reads it. */
export interface CdcLimits {
  /** Bytes of one message (CDC_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Objects and arrays nested in one message (CDC_MAX_DEPTH). */
  maxDepth: number;
  /** Characters (UTF-16 code units) of a record key or customer key (CDC_MAX_KEY_LENGTH). */
  maxKeyLength: number;
}

/**
 * The defaults: 1 MiB is Kafka's default message size limit; 64 levels is far more than a Debezium
 * message has (its json columns arrive as strings); 512 characters keep a key well under
 * PostgreSQL's btree limit (2704 bytes, and a UTF-16 code unit is at most 3 bytes of UTF-8).
 */
export const DEFAULT_CDC_LIMITS: Readonly<CdcLimits> = { maxMessageBytes: 1_048_576, maxDepth: 64, maxKeyLength: 512 };
/** Above this many characters a key can exceed PostgreSQL's btree limit: a higher limit would not hold. */
export const MAX_KEY_LENGTH_LIMIT = 800;
/** Deeper than this, JSON.stringify and Redis' cjson (1000 levels) can fail on a message the decoder let through. */
export const MAX_DEPTH_LIMIT = 900;

export interface EnvConfig {
  database: { url: string };
  redis: { url: string; prefix: string };
  amqp: { url: string; exchange: string; queue: string; prefetch: number; bindings: string[] };
  kafka: { brokers: string[]; groupId: string; clientId: string; dlqTopic: string; extraTopics: string[]; sessionTimeoutMs: number; fetchMaxWaitMs: number; lagIntervalMs: number };
  cdc: {
    transport: CdcTransport;
    batchSize: number;
    lingerMs: number;
    retryMaxMs: number;
    concurrency: number;
    limits: CdcLimits;
    /** No progress for this long while messages wait: the consumer is reported stalled (CDC_STALL_AFTER_MS). */
    stallAfterMs: number;
    /**
     * Events the store refuses one after the other, none accepted between them, before the refusals
     * are taken for a failure of the store itself and the batch is retried (CDC_MAX_REFUSALS_IN_A_ROW).
     */
    maxRefusalsInARow: number;
    /**
     * Systems whose changes are read straight from their database, whatever sources.yaml says
     * (CDC_DIRECT_SYSTEMS, e.g. `crm,portal`): one configuration for both ways of a deployment.
     */
    directSystems: string[];
  };
  /**
   * Systems read straight from PostgreSQL: the slot and publication of a system are named
   * `<slotPrefix>_<system>` (DIRECT_PG_SLOT_PREFIX); a status update goes to the server and the
   * slot's retained WAL is checked every `statusIntervalMs` (DIRECT_PG_STATUS_INTERVAL_MS), with a
   * warning above `walWarnBytes` (DIRECT_PG_WAL_WARN_BYTES). Each status update asks the server for
   * a reply: a replication connection that brings nothing for `receiveTimeoutMs`
   * (DIRECT_PG_RECEIVE_TIMEOUT_MS) is taken for dead and opened again, and the source's other
   * connections give up on a query or a connect after as long.
   */
  directPg: { slotPrefix: string; statusIntervalMs: number; walWarnBytes: number; receiveTimeoutMs: number };
  /**
   * Systems read straight from a MySQL/MariaDB binlog: a stream that brings nothing for
   * `receiveTimeoutMs` (DIRECT_MYSQL_RECEIVE_TIMEOUT_MS) while the server's binlog moves is taken
   * for dead and opened again; the source's control connection gives up on a query after as long.
   */
  directMysql: { receiveTimeoutMs: number };
  http: { host: string; port: number; bodyLimit: number };
  graphql: GraphqlLimits & { allowAnonymousReads: boolean };
  /**
   * The outbox relay (OUTBOX_RELAY), the exchange it publishes to, and the size (heap and index)
   * from which a caught-up relay compacts `status_outbox` (OUTBOX_COMPACT_BYTES; 0: never, vacuum only).
   */
  outbox: { enabled: boolean; exchange: string; compactBytes: number };
  /**
   * History retention: status changes older than `keepDays` days are removed in the background
   * (0: kept for ever), and beyond the newest `keepChanges` of each customer (0: no cap), every
   * `intervalMs`, `batchSize` history ids (or customers, for the cap) per short transaction.
   */
  history: { keepDays: number; keepChanges: number; intervalMs: number; batchSize: number };
  /**
   * When the server's autovacuum is off, the service vacuums its churny tables itself every
   * `intervalMs` (TABLE_VACUUM_INTERVAL_MS; 0: never), those past autovacuum's thresholds.
   */
  tableVacuum: { intervalMs: number };
  /**
   * Rule set validation: `threads` worker threads analyze rule sets off the event loop (0: in the
   * calling thread, as the CLI does), at most `queue` wait for one, and one that takes more than
   * `timeoutMs` is stopped.
   */
  rulesAnalysis: { threads: number; queue: number; timeoutMs: number };
  configDir: string;
  logLevel: string;
}

/** What one GraphQL request may ask for; every limit answers a clear error above it. */
export interface GraphqlLimits {
  maxDepth: number;
  maxCost: number;
  /** Characters of the query text. */
  maxQueryLength: number;
  /** Lexical tokens of the query text (names, punctuation, values): bounds fields and aliases. */
  maxTokens: number;
  /** Parsed and validated documents kept (Mercurius's cache, one for valid and one for invalid ones). */
  documentCache: number;
  /** Ids in `customers(ids)` and in one subscription's `ids` or `statuses`. */
  maxIds: number;
  /** The largest `first` of a page. */
  maxPage: number;
  /** Distinct operation names kept as metric labels; the others count as `other`. */
  metricOperations: number;
  /** How often live subscriptions' tokens are checked again (revocations are also announced at once). */
  subscriptionAuthCheckMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every variable once, reporting all problems together. Defaults suit this machine. */
export function loadEnvConfig(env: Env = process.env): EnvConfig {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    problems.push(`${name}=${raw}: expected true or false`);
    return fallback;
  };
  const list = (name: string, fallback: string): string[] =>
    str(name, fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const url = (name: string, fallback: string, protocols: string[]): string => {
    const v = str(name, fallback);
    // Printed without its password, whether it parses or not.
    const shown = redactUrl(v);
    let protocol: string;
    try {
      protocol = new URL(v).protocol;
    } catch {
      problems.push(`${name}=${shown}: not a URL`);
      return v;
    }
    if (!protocols.includes(protocol)) problems.push(`${name}=${shown}: expected a ${protocols.join(' or ')} URL`);
    return v;
  };

  const transport = str('CDC_TRANSPORT', 'amqp');
  if (transport !== 'amqp' && transport !== 'kafka') problems.push(`CDC_TRANSPORT=${transport}: expected amqp or kafka`);
  const exchange = str('AMQP_EXCHANGE', 'cdc');

  const config: EnvConfig = {
    database: { url: url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/statusview', ['postgres:', 'postgresql:']) },
    redis: { url: url('REDIS_URL', 'redis://127.0.0.1:6379/0', ['redis:', 'rediss:']), prefix: str('REDIS_PREFIX', 'sv:') },
    amqp: {
      url: url('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
      exchange,
      queue: str('AMQP_QUEUE', 'statusview.cdc'),
      prefetch: int('AMQP_PREFETCH', 1000, 1),
      bindings: str('AMQP_BINDINGS', '#').split(',').map((s) => s.trim()).filter(Boolean),
    },
    kafka: {
      brokers: list('KAFKA_BROKERS', '127.0.0.1:9092'),
      groupId: str('KAFKA_GROUP_ID', 'statusview'),
      clientId: str('KAFKA_CLIENT_ID', 'statusview'),
      dlqTopic: str('KAFKA_DLQ_TOPIC', 'statusview.dlq'),
      extraTopics: list('KAFKA_EXTRA_TOPICS', ''),
      sessionTimeoutMs: int('KAFKA_SESSION_TIMEOUT_MS', 30_000, 1000),
      fetchMaxWaitMs: int('KAFKA_FETCH_MAX_WAIT_MS', 5000, 10),
      lagIntervalMs: int('KAFKA_LAG_INTERVAL_MS', 5000, 100),
    },
    cdc: {
      transport: transport as CdcTransport,
      batchSize: int('CDC_BATCH_SIZE', 500, 1),
      lingerMs: int('CDC_BATCH_LINGER_MS', 10, 0),
      retryMaxMs: int('CDC_RETRY_MAX_MS', 5000, 10),
      concurrency: int('CDC_CONCURRENCY', 2, 1),
      limits: {
        maxMessageBytes: int('CDC_MAX_MESSAGE_BYTES', DEFAULT_CDC_LIMITS.maxMessageBytes, 1024),
        maxDepth: int('CDC_MAX_DEPTH', DEFAULT_CDC_LIMITS.maxDepth, 8, MAX_DEPTH_LIMIT),
        maxKeyLength: int('CDC_MAX_KEY_LENGTH', DEFAULT_CDC_LIMITS.maxKeyLength, 1, MAX_KEY_LENGTH_LIMIT),
      },
      stallAfterMs: int('CDC_STALL_AFTER_MS', 60_000, 100),
      maxRefusalsInARow: int('CDC_MAX_REFUSALS_IN_A_ROW', 100, 1),
      directSystems: list('CDC_DIRECT_SYSTEMS', ''),
    },
    directPg: {
      slotPrefix: str('DIRECT_PG_SLOT_PREFIX', 'statusview'),
      statusIntervalMs: int('DIRECT_PG_STATUS_INTERVAL_MS', 10_000, 100, 3_600_000),
      receiveTimeoutMs: int('DIRECT_PG_RECEIVE_TIMEOUT_MS', 60_000, 1000, 3_600_000),
      walWarnBytes: int('DIRECT_PG_WAL_WARN_BYTES', 1024 ** 3, 0),
    },
    directMysql: { receiveTimeoutMs: int('DIRECT_MYSQL_RECEIVE_TIMEOUT_MS', 60_000, 1000, 3_600_000) },
    http: { host: str('HOST', '0.0.0.0'), port: int('PORT', 3000, 0, 65535), bodyLimit: int('HTTP_BODY_LIMIT', 1_048_576, 1024) },
    graphql: {
      maxDepth: int('GRAPHQL_MAX_DEPTH', 8, 1),
      maxCost: int('GRAPHQL_MAX_COST', 5000, 1),
      maxQueryLength: int('GRAPHQL_MAX_QUERY_LENGTH', 16_384, 256),
      maxTokens: int('GRAPHQL_MAX_TOKENS', 1000, 50),
      documentCache: int('GRAPHQL_DOCUMENT_CACHE', 64, 1),
      maxIds: int('GRAPHQL_MAX_IDS', 1000, 1),
      maxPage: int('GRAPHQL_MAX_PAGE', 500, 1),
      metricOperations: int('GRAPHQL_METRIC_OPERATIONS', 100, 0),
      subscriptionAuthCheckMs: int('GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS', 5000, 100),
      allowAnonymousReads: bool('ALLOW_ANONYMOUS_READS', false),
    },
    outbox: { enabled: bool('OUTBOX_RELAY', true), exchange: str('STATUS_EXCHANGE', 'customer-status'), compactBytes: int('OUTBOX_COMPACT_BYTES', 4_194_304, 0, 1_073_741_824) },
    history: {
      keepDays: int('HISTORY_KEEP_DAYS', 400, 0, 36_500),
      keepChanges: int('HISTORY_KEEP_CHANGES', 0, 0, 1_000_000),
      intervalMs: int('HISTORY_RETENTION_INTERVAL_MS', 300_000, 1000),
      batchSize: int('HISTORY_RETENTION_BATCH', 5000, 100, 100_000),
    },
    tableVacuum: { intervalMs: int('TABLE_VACUUM_INTERVAL_MS', 60_000, 0, 86_400_000) },
    rulesAnalysis: {
      threads: int('RULES_ANALYSIS_THREADS', 1, 0),
      queue: int('RULES_ANALYSIS_QUEUE', 16, 0),
      timeoutMs: int('RULES_ANALYSIS_TIMEOUT_MS', 30_000, 100),
    },
    configDir: str('CONFIG_DIR', 'config'),
    logLevel: str('LOG_LEVEL', 'info'),
  };
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(config.directPg.slotPrefix)) {
    problems.push(`DIRECT_PG_SLOT_PREFIX=${config.directPg.slotPrefix}: expected lower-case letters, digits and _ (at most 40, not starting with a digit): slot names allow no more`);
  }
  const vacuumMs = config.tableVacuum.intervalMs;
  if (vacuumMs > 0 && vacuumMs < 1000) {
    problems.push(`TABLE_VACUUM_INTERVAL_MS=${vacuumMs}: expected 0 (never) or at least 1000 (a VACUUM round every few milliseconds would load PostgreSQL for nothing)`);
  }
  if (config.kafka.extraTopics.includes(config.kafka.dlqTopic)) {
    problems.push(`KAFKA_EXTRA_TOPICS=${config.kafka.extraTopics.join(',')}: must not include the dead-letter topic ${config.kafka.dlqTopic} (its messages would be dead-lettered again and again)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
