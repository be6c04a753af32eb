import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { AmqpCdcConsumer, KafkaCdcConsumer } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig } from '@app/config';
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
              concurrency: cdc.concurrency,
            },
            processor,
            this.logger,
          )
        : new AmqpCdcConsumer(
            { ...env.amqp, batchSize: cdc.batchSize, lingerMs: cdc.lingerMs, retryMaxMs: cdc.retryMaxMs, concurrency: cdc.concurrency },
            processor,
            this.logger,
          );
  }

  get running(): boolean {
    return this.consumer.running;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}
