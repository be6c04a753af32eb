import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { ChangeTransport, ConsumerProgressReport, DebeziumJsonDecoder } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig } from '@app/config';
import { ConsumerHealth, setReading } from '@app/observability';
import { IngestChangesUseCase } from './ingest-changes.use-case';
import { TRANSPORTS } from './transports/transport.registry';

/**
 * Starts the configured transport once the app is up, handing its change events to the one
 * ingest use case; on shutdown finishes the batch in flight. Sources whose changes come as
 * Debezium messages are decoded by the Debezium JSON decoder.
 */
@Injectable()
export class CdcConsumerService implements ConsumerHealth, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('cdc');
  readonly consumer: ChangeTransport;

  constructor(@Inject(ENV_CONFIG) env: EnvConfig, @Inject(DOMAIN_CONFIG) domain: DomainConfig, ingest: IngestChangesUseCase) {
    const decoder = new DebeziumJsonDecoder(domain.sources, env.cdc.limits);
    this.consumer = TRANSPORTS[env.cdc.transport]({ env, domain, decoder, sink: ingest, logger: this.logger });
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

  /** What /health shows of the transport besides up or down. */
  details(): Record<string, unknown> {
    return this.consumer.details();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}
