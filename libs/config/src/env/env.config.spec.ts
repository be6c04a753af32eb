import { ConfigError } from '../config.errors';
import { loadEnvConfig } from './env.config';

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

  it('refuses the dead-letter topic among the consumed topics, and out-of-range numbers, all in one report', () => {
    expect(problemsOf({ KAFKA_DLQ_TOPIC: 'dlq', KAFKA_EXTRA_TOPICS: 'legacy,dlq', KAFKA_SESSION_TIMEOUT_MS: '500', KAFKA_LAG_INTERVAL_MS: 'often' })).toEqual([
      'KAFKA_SESSION_TIMEOUT_MS=500: expected an integer >= 1000',
      'KAFKA_LAG_INTERVAL_MS=often: expected an integer >= 100',
      'KAFKA_EXTRA_TOPICS=legacy,dlq: must not include the dead-letter topic dlq (its messages would be dead-lettered again and again)',
    ]);
  });
});
