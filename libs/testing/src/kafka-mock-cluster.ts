import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Admin, IHeaders, Kafka, logLevel, PartitionMetadata, Partitioners, Producer } from 'kafkajs';

const run = promisify(execFile);

/** Every cluster a test started, killed even if the test process ends without its afterAll. */
const clusters = new Set<ChildProcess>();
process.once('exit', () => clusters.forEach((c) => c.kill('SIGKILL')));

/**
 * librdkafka's mock Kafka cluster, the one librdkafka's own test suite runs, started through
 * Debian's `kcat` (librdkafka 2.0.2): with `-X test.mock.num.brokers=N`, kcat ignores its
 * bootstrap servers, serves a cluster of N brokers on 127.0.0.1 (ephemeral ports), prints their
 * addresses on stderr, and keeps serving while its stdin stays open. It speaks the Kafka protocol
 * (produce, fetch, consumer groups, offsets, list offsets) but it is not Apache Kafka; what it does
 * not do is in the README ("Kafka").
 */
export class KafkaMockCluster {
  private constructor(
    private readonly child: ChildProcess,
    readonly brokers: string[],
  ) {}

  /** Starts a cluster (in a few milliseconds) and reads its bootstrap addresses from kcat's output. */
  static async start(opts: { brokers?: number; timeoutMs?: number } = {}): Promise<KafkaMockCluster> {
    const brokers = opts.brokers ?? 3;
    // kcat reads messages for this topic from stdin: none is ever written, the pipe just stays open.
    const child = spawn('kcat', ['-b', '127.0.0.1:1', '-X', `test.mock.num.brokers=${brokers}`, '-P', '-t', 'statusview.mock'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    clusters.add(child);
    child.once('exit', () => clusters.delete(child));
    let output = '';
    const addresses = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no mock cluster address within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${e.message}${output ? `; kcat said: ${output.trim()}` : ''}`));
      };
      child.once('error', (e: NodeJS.ErrnoException) =>
        fail(e.code === 'ENOENT' ? new Error('kcat is not installed (apt-get install -y kcat): the Kafka tests run librdkafka\'s mock cluster through it') : e),
      );
      child.once('exit', (code, signal) => fail(new Error(`kcat exited (${code ?? signal}) before the mock cluster was up`)));
      child.stderr!.on('data', (b: Buffer) => {
        output = (output + b.toString()).slice(-8192);
        // "Mock cluster enabled: original bootstrap.servers and security.protocol ignored and replaced with 127.0.0.1:38085,..."
        const m = /(?:replaced with|bootstrap\.servers=)\s*(\S+)/.exec(output);
        if (!m) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(m[1].split(','));
      });
    });
    return new KafkaMockCluster(child, addresses);
  }

  get bootstrap(): string {
    return this.brokers.join(',');
  }

  /** A kafkajs client of this cluster, logging only errors (to stderr, never into a test's output). */
  client(clientId = 'statusview-test'): Kafka {
    return new Kafka({
      clientId,
      brokers: this.brokers,
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => process.stderr.write(`kafkajs ${entry.namespace}: ${entry.log.message}\n`),
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

export interface WireMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

export interface ProducedMessage {
  /** A JSON key is sent as its JSON text, as Kafka Connect's JsonConverter writes it. */
  key: Record<string, unknown> | string | null;
  /** null is a tombstone. */
  value: Record<string, unknown> | string | null;
  headers?: IHeaders;
}

/**
 * What a test needs of a Kafka cluster besides the service: a producer that writes messages the
 * way Kafka Connect does (keyed, the key's murmur2 hash picking the partition) and reports each
 * message's partition and offset; the group's committed offsets; a topic read back with kcat, a
 * client independent of kafkajs.
 */
export class KafkaTestClient {
  private readonly kafka: Kafka;
  private producer!: Producer;
  admin!: Admin;

  constructor(private readonly cluster: KafkaMockCluster) {
    this.kafka = cluster.client();
  }

  async connect(): Promise<this> {
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await this.producer.connect();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    return this;
  }

  /**
   * Sends messages in order (acks from all replicas) and returns where each landed. The partition
   * is chosen here with kafkajs's default partitioner (Java's murmur2 for keyed messages, like
   * Kafka Connect's producer), so that each message's offset is known.
   */
  async send(topic: string, messages: readonly ProducedMessage[]): Promise<Array<{ partition: number; offset: string }>> {
    const toBuffer = (v: ProducedMessage['key']): Buffer | null => (v === null ? null : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
    const partitions = await this.partitionsOf(topic);
    const partitioner = Partitioners.DefaultPartitioner();
    const placed = messages.map((m) => {
      const message = { key: toBuffer(m.key), value: toBuffer(m.value), headers: m.headers };
      return { message, partition: partitioner({ topic, partitionMetadata: partitions, message }) };
    });
    const byPartition = new Map<number, number[]>();
    placed.forEach((p, i) => byPartition.set(p.partition, [...(byPartition.get(p.partition) ?? []), i]));
    const where: Array<{ partition: number; offset: string }> = new Array(messages.length);
    const result = await this.producer.send({
      topic,
      acks: -1,
      messages: placed.map((p) => ({ ...p.message, partition: p.partition })),
    });
    for (const r of result) {
      const base = BigInt(r.baseOffset ?? '0');
      (byPartition.get(r.partition) ?? []).forEach((i, k) => (where[i] = { partition: r.partition, offset: (base + BigInt(k)).toString() }));
    }
    return where;
  }

  /** The group's committed offsets, `topic[partition]` → next offset to read (absent: none committed). */
  async committed(groupId: string, topics: readonly string[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId, topics: [...topics] })) {
      for (const p of partitions) if (BigInt(p.offset) >= 0n) out.set(`${topic}[${p.partition}]`, BigInt(p.offset));
    }
    return out;
  }

  /** Every message of a topic, read from the beginning by kcat (assigned partitions, no group). */
  async readAll(topic: string): Promise<WireMessage[]> {
    const { stdout } = await run('kcat', ['-C', '-b', this.cluster.bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], { maxBuffer: 64 * 1024 * 1024 });
    return stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const j = JSON.parse(l) as { partition: number; offset: number; key: string | null; payload: string | null; headers?: string[] };
        const headers: Record<string, string> = {};
        for (let i = 0; i + 1 < (j.headers?.length ?? 0); i += 2) headers[j.headers![i]] = j.headers![i + 1];
        return {
          partition: j.partition,
          offset: String(j.offset),
          key: j.key === null ? null : Buffer.from(j.key),
          value: j.payload === null ? null : Buffer.from(j.payload),
          headers,
        };
      });
  }

  private async partitionsOf(topic: string): Promise<PartitionMetadata[]> {
    // Creates the topic (the mock's default: 4 partitions) if it does not exist yet.
    for (let attempt = 0; ; attempt++) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length > 0) return partitions;
      } catch (e) {
        if (attempt >= 20) throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }
}
