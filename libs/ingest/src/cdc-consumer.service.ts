import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown, Optional } from '@nestjs/common';
import { ChangeTransport, CheckpointReader, ConsumerProgressReport, DeadLetterSink, DebeziumJsonDecoder } from '@app/cdc';
import { ChangeEventFactory } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig } from '@app/config';
import { ConsumerHealth, setReading } from '@app/observability';
import { CHECKPOINT_READER, DEAD_LETTER_SINK, DIRECT_SOURCES } from './direct/direct-sources.registry';
import { IngestChangesUseCase } from './ingest-changes.use-case';
import { debeziumTopics, TRANSPORTS } from './transports/transport.registry';

/**
 * Starts what delivers this deployment's change events once the app is up, each handing them to
 * the one ingest use case: the transport `CDC_TRANSPORT` names, for the systems whose changes come
 * as Debezium messages (decoded by the Debezium JSON decoder), and one direct source per system
 * read straight from its database. On shutdown each finishes the batch in flight.
 */
@Injectable()
export class CdcConsumerService implements ConsumerHealth, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('cdc');
  /** The message transport; null when every system is read directly. */
  readonly consumer: ChangeTransport | null;
  /** Every source of change events of this process, by name (`amqp`, `kafka`, `direct:crm`). */
  readonly transports = new Map<string, ChangeTransport>();

  constructor(
    @Inject(ENV_CONFIG) env: EnvConfig,
    @Inject(DOMAIN_CONFIG) domain: DomainConfig,
    ingest: IngestChangesUseCase,
    @Optional() @Inject(DEAD_LETTER_SINK) deadLetters?: DeadLetterSink,
    @Optional() @Inject(CHECKPOINT_READER) checkpoints?: CheckpointReader,
  ) {
    const logger = this.logger;
    this.consumer =
      debeziumTopics(domain).length > 0
        ? TRANSPORTS[env.cdc.transport]({ env, domain, decoder: new DebeziumJsonDecoder(domain.sources, env.cdc.limits), sink: ingest, logger })
        : null;
    if (this.consumer) this.transports.set(env.cdc.transport, this.consumer);
    const events = new ChangeEventFactory(domain.sources, env.cdc.limits);
    for (const system of domain.sources.systems) {
      if (system.changes !== 'direct' || !system.connection) continue;
      const factory = DIRECT_SOURCES[system.connection.dialect];
      if (!factory) throw new Error(`systems.${system.name}: changes cannot be read directly from ${system.connection.dialect} in this build`);
      if (!deadLetters || !checkpoints) throw new Error(`systems.${system.name}: a direct source needs the dead-letter and checkpoint stores, which this process does not provide`);
      const url = process.env[system.connection.urlEnv];
      if (!url) throw new Error(`systems.${system.name}: changes are read directly, but ${system.connection.urlEnv} (its connection URL) is not set`);
      this.transports.set(`direct:${system.name}`, factory({ env, system, url, events, sink: ingest, deadLetters, checkpoints, logger }));
    }
    setReading('consumerStalled', () => (this.progress().stalled ? 1 : 0));
    setReading('consumerStallSeconds', () => this.progress().stalledForMs / 1000);
  }

  get running(): boolean {
    return [...this.transports.values()].every((t) => t.running);
  }

  /** The transports not consuming now, each named with the last error it reported: what /health says when one is down. */
  stopped(): string[] {
    return [...this.transports]
      .filter(([, t]) => !t.running)
      .map(([name, t]) => {
        const { lastError } = t.progress.report();
        return lastError ? `${name} (${lastError})` : name;
      });
  }

  /** Whether changes wait without progress, over every source (the worst of them). */
  progress(): ConsumerProgressReport {
    const reports = [...this.transports.values()].map((t) => t.progress.report());
    const worst = reports.reduce<ConsumerProgressReport | null>((w, r) => (w === null || r.stalledForMs > w.stalledForMs ? r : w), null);
    return {
      waiting: reports.reduce((n, r) => n + r.waiting, 0),
      stalledForMs: worst?.stalledForMs ?? 0,
      stalled: reports.some((r) => r.stalled),
      lastError: reports.find((r) => r.lastError !== null)?.lastError ?? null,
    };
  }

  /** What /health shows of the transports besides up or down. */
  details(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, t] of this.transports) Object.assign(out, name.startsWith('direct:') ? { [name]: t.details() } : t.details());
    return out;
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const t of this.transports.values()) await t.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.stop()));
  }
}
