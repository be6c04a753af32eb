import { ConfigError } from '../config.errors';
import { DEFAULT_CDC_LIMITS, loadEnvConfig } from './env.config';

describe('loadEnvConfig: the consumer limits', () => {
  it('defaults to 1 MiB messages, 64 levels, 512-character keys, a stall after 60 s and 100 refusals in a row', () => {
    const { cdc } = loadEnvConfig({});
    expect(cdc.limits).toEqual({ maxMessageBytes: 1_048_576, maxDepth: 64, maxKeyLength: 512 });
    expect(cdc.limits).toEqual(DEFAULT_CDC_LIMITS);
    expect(cdc.stallAfterMs).toBe(60_000);
    expect(cdc.maxRefusalsInARow).toBe(100);
  });

  it('takes each from its variable', () => {
    const { cdc } = loadEnvConfig({
      CDC_MAX_MESSAGE_BYTES: '4194304',
      CDC_MAX_DEPTH: '32',
      CDC_MAX_KEY_LENGTH: '200',
      CDC_STALL_AFTER_MS: '5000',
      CDC_MAX_REFUSALS_IN_A_ROW: '10',
    });
    expect(cdc).toMatchObject({ limits: { maxMessageBytes: 4_194_304, maxDepth: 32, maxKeyLength: 200 }, stallAfterMs: 5000, maxRefusalsInARow: 10 });
  });

  it('reports every value out of its range together, each naming its variable', () => {
    let error: unknown;
    try {
      loadEnvConfig({ CDC_MAX_KEY_LENGTH: '3000', CDC_MAX_DEPTH: '5000', CDC_MAX_MESSAGE_BYTES: '10', CDC_STALL_AFTER_MS: 'soon', CDC_MAX_REFUSALS_IN_A_ROW: '0' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'CDC_MAX_MESSAGE_BYTES=10: expected an integer >= 1024',
      'CDC_MAX_DEPTH=5000: expected an integer from 8 to 900',
      'CDC_MAX_KEY_LENGTH=3000: expected an integer from 1 to 800',
      'CDC_STALL_AFTER_MS=soon: expected an integer >= 100',
      'CDC_MAX_REFUSALS_IN_A_ROW=0: expected an integer >= 1',
    ]);
  });
});


describe('environment configuration', () => {
  it('has a limit for every input of a GraphQL request, with defaults', () => {
    const env = loadEnvConfig({});
    expect(env.http.bodyLimit).toBe(1_048_576);
    expect(env.graphql).toEqual({
      maxDepth: 8,
      maxCost: 5000,
      maxQueryLength: 16_384,
      maxTokens: 1000,
      documentCache: 64,
      maxIds: 1000,
      maxPage: 500,
      metricOperations: 100,
      subscriptionAuthCheckMs: 5000,
      allowAnonymousReads: false,
    });
  });

  it('reports every limit that is not a number in its range, together, naming the variable', () => {
    const problems = (() => {
      try {
        loadEnvConfig({ GRAPHQL_MAX_IDS: '0', GRAPHQL_MAX_TOKENS: 'lots', HTTP_BODY_LIMIT: '10', PORT: '70000', GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS: '1.5' });
      } catch (e) {
        return (e as ConfigError).message;
      }
      return '';
    })();
    expect(problems).toMatch(/GRAPHQL_MAX_IDS=0: expected an integer >= 1/);
    expect(problems).toMatch(/GRAPHQL_MAX_TOKENS=lots: expected an integer >= 50/);
    expect(problems).toMatch(/HTTP_BODY_LIMIT=10: expected an integer >= 1024/);
    expect(problems).toMatch(/PORT=70000: expected an integer from 0 to 65535/);
    expect(problems).toMatch(/GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS=1.5: expected an integer >= 100/);
  });
});


const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadEnvConfig(env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
};

describe('Kafka environment variables', () => {
  it('defaults: no extra topics, kafkajs\'s session timeout and fetch wait, lag every 5 s', () => {
    expect(loadEnvConfig({}).kafka).toEqual({
      brokers: ['127.0.0.1:9092'],
      groupId: 'statusview',
      clientId: 'statusview',
      dlqTopic: 'statusview.dlq',
      extraTopics: [],
      sessionTimeoutMs: 30_000,
      fetchMaxWaitMs: 5000,
      lagIntervalMs: 5000,
    });
  });

  it('reads comma-separated topics and brokers, blanks ignored', () => {
    const { kafka } = loadEnvConfig({ KAFKA_BROKERS: ' a:1, b:2 ,', KAFKA_EXTRA_TOPICS: '__debezium-heartbeat.legacy, legacy' });
    expect(kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(kafka.extraTopics).toEqual(['__debezium-heartbeat.legacy', 'legacy']);
  });

  it('takes a table vacuum interval of 0 (never) or at least a second, nothing in between', () => {
    expect(loadEnvConfig({ TABLE_VACUUM_INTERVAL_MS: '0' }).tableVacuum.intervalMs).toBe(0);
    expect(loadEnvConfig({ TABLE_VACUUM_INTERVAL_MS: '1000' }).tableVacuum.intervalMs).toBe(1000);
    expect(problemsOf({ TABLE_VACUUM_INTERVAL_MS: '1' })).toEqual([
      'TABLE_VACUUM_INTERVAL_MS=1: expected 0 (never) or at least 1000 (a VACUUM round every few milliseconds would load PostgreSQL for nothing)',
    ]);
  });

  it('refuses the dead-letter topic among the consumed topics, and out-of-range numbers, all in one report', () => {
    expect(problemsOf({ KAFKA_DLQ_TOPIC: 'dlq', KAFKA_EXTRA_TOPICS: 'legacy,dlq', KAFKA_SESSION_TIMEOUT_MS: '500', KAFKA_LAG_INTERVAL_MS: 'often' })).toEqual([
      'KAFKA_SESSION_TIMEOUT_MS=500: expected an integer >= 1000',
      'KAFKA_LAG_INTERVAL_MS=often: expected an integer >= 100',
      'KAFKA_EXTRA_TOPICS=legacy,dlq: must not include the dead-letter topic dlq (its messages would be dead-lettered again and again)',
    ]);
  });
});
