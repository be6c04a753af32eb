import { AmqpCdcConsumer, ChangeSink, ChangeTransport, KafkaCdcConsumer, MessageDecoder, TransportLogger } from '@app/cdc';
import { CdcTransport, DomainConfig, EnvConfig } from '@app/config';

export interface TransportContext {
  env: EnvConfig;
  domain: DomainConfig;
  decoder: MessageDecoder;
  sink: ChangeSink;
  logger: TransportLogger;
}

/**
 * The message transports Debezium's events arrive over, by the name `CDC_TRANSPORT` gives. A new
 * one is an entry here and an adapter that turns its messages into change events for the sink.
 */
export const TRANSPORTS: Record<CdcTransport, (ctx: TransportContext) => ChangeTransport> = {
  amqp: ({ env, decoder, sink, logger }) =>
    new AmqpCdcConsumer(
      {
        ...env.amqp,
        batchSize: env.cdc.batchSize,
        lingerMs: env.cdc.lingerMs,
        retryMaxMs: env.cdc.retryMaxMs,
        concurrency: env.cdc.concurrency,
        stallAfterMs: env.cdc.stallAfterMs,
      },
      decoder,
      sink,
      logger,
    ),
  kafka: ({ env, domain, decoder, sink, logger }) =>
    new KafkaCdcConsumer(
      {
        ...env.kafka,
        topics: [...new Set([...debeziumTopics(domain), ...env.kafka.extraTopics])],
        batchSize: env.cdc.batchSize,
        retryMaxMs: env.cdc.retryMaxMs,
        stallAfterMs: env.cdc.stallAfterMs,
        concurrency: env.cdc.concurrency,
      },
      decoder,
      sink,
      logger,
    ),
};

/** The topics of the sources whose changes come as Debezium messages. */
export function debeziumTopics(domain: DomainConfig): string[] {
  return domain.sources.systems.filter((s) => (s.changes ?? 'debezium') === 'debezium').map((s) => s.topic);
}
