import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { AmqpCdcConsumer, ConsumerProgressReport, KafkaCdcConsumer } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig } from '@app/config';
import { setReading } from '@app/observability';
import { ChangeBatchProcessor } from './change-batch.processor';

/** Starts the configured transport once the app is up; on shutdown finishes the batch in flight. */
@Injectable()
export class CdcConsumerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('cdc');
  readonly consumer: AmqpCdcConsumer | KafkaCdcConsumer;

  constructor(
    @Inject(ENV_CONFIG) env: EnvConfig,
    @Inject(DOMAIN_CONFIG) domain: DomainConfig,
    processor: ChangeBatchProcessor,
  ) {
    const { cdc } = env;
    this.consumer =
      cdc.transport === 'kafka'
        ? new KafkaCdcConsumer(
            {
              ...env.kafka,
              topics: [...new Set([...domain.sources.systems.map((s) => s.topic), ...env.kafka.extraTopics])],
              batchSize: cdc.batchSize,
              retryMaxMs: cdc.retryMaxMs,
              stallAfterMs: cdc.stallAfterMs,
              concurrency: cdc.concurrency,
            },
            processor,
            this.logger,
          )
        : new AmqpCdcConsumer(
            {
              ...env.amqp,
              batchSize: cdc.batchSize,
              lingerMs: cdc.lingerMs,
              retryMaxMs: cdc.retryMaxMs,
              concurrency: cdc.concurrency,
              stallAfterMs: cdc.stallAfterMs,
            },
            processor,
            this.logger,
          );
    setReading('consumerStalled', () => (this.progress().stalled ? 1 : 0));
    setReading('consumerStallSeconds', () => this.progress().stalledForMs / 1000);
  }

  get running(): boolean {
    return this.consumer.running;
  }

  /** Whether messages wait without progress (a batch retried because the store refuses it, or hangs). */
  progress(): ConsumerProgressReport {
    return this.consumer.progress.report();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}
