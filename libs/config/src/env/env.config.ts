import { ConfigError } from '../config.errors';

export type CdcTransport = 'amqp' | 'kafka';

export interface EnvConfig {
  database: { url: string };
  redis: { url: string; prefix: string };
  amqp: { url: string; exchange: string; queue: string; prefetch: number; bindings: string[] };
  kafka: { brokers: string[]; groupId: string; clientId: string; dlqTopic: string; extraTopics: string[]; sessionTimeoutMs: number; fetchMaxWaitMs: number; lagIntervalMs: number };
  cdc: { transport: CdcTransport; batchSize: number; lingerMs: number; retryMaxMs: number; concurrency: number };
  http: { host: string; port: number };
  graphql: { maxDepth: number; maxCost: number; allowAnonymousReads: boolean };
  outbox: { enabled: boolean; exchange: string };
  configDir: string;
  logLevel: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every variable once, reporting all problems together. Defaults suit this machine. */
export function loadEnvConfig(env: Env = process.env): EnvConfig {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min = 0): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`${name}=${raw}: expected an integer >= ${min}`);
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
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) problems.push(`${name}=${v}: expected a ${protocols.join(' or ')} URL`);
    } catch {
      problems.push(`${name}=${v}: not a URL`);
    }
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
    },
    http: { host: str('HOST', '0.0.0.0'), port: int('PORT', 3000, 0) },
    graphql: {
      maxDepth: int('GRAPHQL_MAX_DEPTH', 8, 1),
      maxCost: int('GRAPHQL_MAX_COST', 5000, 1),
      allowAnonymousReads: bool('ALLOW_ANONYMOUS_READS', false),
    },
    outbox: { enabled: bool('OUTBOX_RELAY', true), exchange: str('STATUS_EXCHANGE', 'customer-status') },
    configDir: str('CONFIG_DIR', 'config'),
    logLevel: str('LOG_LEVEL', 'info'),
  };
  if (config.kafka.extraTopics.includes(config.kafka.dlqTopic)) {
    problems.push(`KAFKA_EXTRA_TOPICS=${config.kafka.extraTopics.join(',')}: must not include the dead-letter topic ${config.kafka.dlqTopic} (its messages would be dead-lettered again and again)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
