import { Admin, Consumer, IMemberAssignment, Kafka, logLevel, LogEntry, Partitioners, Producer } from 'kafkajs';
import { ChangeBatchHandler } from '../change-batch.handler';
import { ConsumerProgress } from '../consumer-progress';
import { TransportLogger } from '../transport.logger';
import { DeadLetterMessage, KafkaBatchHandler, KafkaConsumerStats } from './kafka-batch.handler';
import { KafkaLagMonitor, KafkaLagSnapshot } from './kafka-lag.monitor';

export interface KafkaConsumerOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  /** The sources' topics, and any other the connectors write to (heartbeats, schema changes). */
  topics: string[];
  dlqTopic: string;
  batchSize: number;
  retryMaxMs: number;
  /** Partitions applied at once (kafkajs `partitionsConsumedConcurrently`, default 1); each partition stays in order. */
  concurrency?: number;
  /** The group drops a member that has not heartbeaten for this long (kafkajs default 30 s). */
  sessionTimeoutMs?: number;
  /** How long the broker may hold a fetch that finds nothing new (kafkajs default 5 s). */
  fetchMaxWaitMs?: number;
  /** How often the group's lag is measured (default 5 s). */
  lagIntervalMs?: number;
  /** No progress for this long while messages wait: reported stalled (default 60 s). */
  stallAfterMs?: number;
}

export interface KafkaConsumerHealth {
  lag: KafkaLagSnapshot;
  /** Partitions this member was assigned at its last join. */
  assigned: IMemberAssignment;
  crashes: number;
  lastCrash?: string;
}

/**
 * The Kafka transport: a kafkajs consumer group over the Debezium topics, each fetched batch
 * through `KafkaBatchHandler` (offsets committed by hand, only after the projection committed),
 * undecodable or unmappable messages to the dead-letter topic, and the group's lag measured from
 * its committed offsets. When kafkajs gives up on its consumer (a crash it does not restart
 * itself), a new one is started with backoff; `running` is false meanwhile.
 */
export class KafkaCdcConsumer {
  readonly stats: KafkaConsumerStats = { consumed: 0, deadLettered: 0, batches: 0, retries: 0 };
  private readonly kafka: Kafka;
  private readonly batchHandler: KafkaBatchHandler;
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private lag: KafkaLagMonitor | null = null;
  private started = false;
  private stopping = false;
  private crashed = false;
  private crashes = 0;
  private lastCrash: string | undefined;
  private assigned: IMemberAssignment = {};
  private restartTimer: NodeJS.Timeout | null = null;
  /** Whether the fetched messages get settled (committed or dead-lettered); for /health and /metrics. */
  readonly progress: ConsumerProgress;

  constructor(
    private readonly options: KafkaConsumerOptions,
    private readonly handler: ChangeBatchHandler,
    private readonly logger: TransportLogger,
  ) {
    this.kafka = new Kafka({ clientId: options.clientId, brokers: options.brokers, logLevel: logLevel.INFO, logCreator: () => (entry) => this.kafkajsLog(entry) });
    this.progress = new ConsumerProgress(options.stallAfterMs ?? 60_000);
    this.batchHandler = new KafkaBatchHandler(options, handler, (messages) => this.deadLetter(messages), logger, this.stats, this.progress);
  }

  /** True while the consumer is in its group (or joining it) and kafkajs has not crashed. */
  get running(): boolean {
    return this.started && !this.crashed;
  }

  health(): KafkaConsumerHealth {
    return {
      lag: this.lag?.snapshot ?? { total: 0, partitions: {}, measuredAt: null },
      assigned: this.assigned,
      crashes: this.crashes,
      ...(this.lastCrash ? { lastCrash: this.lastCrash } : {}),
    };
  }

  async start(): Promise<void> {
    this.stopping = false;
    // Not idempotent: kafkajs's idempotent producer needs InitProducerId from the controller. The
    // dead-letter topic is written at least once (a chunk retried after a failed commit writes its
    // dead letters again); the headers name the original offset, so duplicates are recognizable.
    try {
      this.producer = this.kafka.producer({ maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
      this.admin = this.kafka.admin();
      await this.admin.connect();
      await this.startConsumer();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.started = true;
    this.lag = new KafkaLagMonitor(this.admin, this.options.groupId, this.options.topics, this.options.lagIntervalMs ?? 5000, this.logger);
    this.lag.start();
    this.logger.log(`consuming ${this.options.topics.join(', ')} as group ${this.options.groupId} (${this.options.concurrency ?? 1} partitions at once)`);
  }

  /** Stops fetching, lets kafkajs finish the chunk in flight (committed, then its offset), leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.lag?.stop();
    const warn = (what: string) => (e: Error) => this.logger.warn(`Kafka ${what} did not disconnect cleanly: ${e.message}`);
    await this.consumer?.disconnect().catch(warn('consumer'));
    await this.producer?.disconnect().catch(warn('dead-letter producer'));
    await this.admin?.disconnect().catch(warn('admin client'));
    this.consumer = null;
    this.producer = null;
    this.admin = null;
  }

  private async startConsumer(): Promise<void> {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout,
      // Heartbeats go out between chunks and while a fetch waits: both well inside the session.
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 10)),
      maxWaitTimeInMs: Math.min(this.options.fetchMaxWaitMs ?? 5000, Math.floor(sessionTimeout / 3)),
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (consumer !== this.consumer) return;
      this.crashed = false;
      this.assigned = payload.memberAssignment;
      const parts = Object.entries(payload.memberAssignment).map(([t, ps]) => `${t}[${ps.join(',')}]`);
      this.logger.log(`joined group ${payload.groupId}${payload.isLeader ? ' as leader' : ''}: ${parts.length ? parts.join(' ') : 'no partitions'}`);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => this.onCrash(consumer, payload.error, payload.restart));
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrency ?? 1,
      eachBatch: (payload) => this.batchHandler.eachBatch(payload),
    });
  }

  private onCrash(consumer: Consumer, error: Error, restart: boolean): void {
    if (consumer !== this.consumer || this.stopping) return;
    this.crashed = true;
    this.assigned = {};
    this.crashes++;
    this.lastCrash = `${error.name}: ${error.message}`;
    if (restart) {
      this.logger.warn(`Kafka consumer crashed (${this.lastCrash}); kafkajs restarts it`);
      return;
    }
    this.logger.error(`Kafka consumer crashed (${this.lastCrash}) and kafkajs gave up on it; starting a new one`);
    this.scheduleRestart(500);
  }

  private scheduleRestart(delayMs: number): void {
    if (this.stopping) return;
    this.restartTimer = setTimeout(() => {
      const old = this.consumer;
      this.consumer = null;
      void (async () => {
        try {
          await old?.disconnect().catch((e: Error) => this.logger.warn(`crashed Kafka consumer did not disconnect cleanly: ${e.message}`));
          if (this.stopping) return;
          await this.startConsumer();
          this.logger.log('Kafka consumer started again');
        } catch (e) {
          const next = Math.min(delayMs * 2, this.options.retryMaxMs);
          this.logger.warn(`Kafka consumer could not be started again (${(e as Error).message}); retrying in ${next} ms`);
          this.scheduleRestart(next);
        }
      })();
    }, delayMs);
  }

  private async deadLetter(messages: DeadLetterMessage[]): Promise<void> {
    if (!this.producer) throw new Error('the dead-letter producer is not connected');
    await this.producer.send({ topic: this.options.dlqTopic, acks: -1, messages });
  }

  /** kafkajs's own log lines through the service's logger (JSON), never to the console. */
  private kafkajsLog({ namespace, level, log }: LogEntry): void {
    const { message, ...rest } = log;
    const extra = ['groupId', 'memberId', 'broker', 'topic', 'partition', 'error']
      .filter((k) => rest[k as keyof typeof rest] !== undefined)
      .map((k) => `${k}=${String(rest[k as keyof typeof rest])}`)
      .join(' ');
    const line = `kafkajs ${namespace}: ${message}${extra ? ` (${extra})` : ''}`;
    // kafkajs logs routine rebalances and retries as ERROR; only its crashes (above) are errors here.
    if (level === logLevel.ERROR || level === logLevel.WARN) this.logger.warn(line);
    else this.logger.debug(line);
  }
}
