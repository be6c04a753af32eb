import { Client } from 'pg';
import { ChangeEventDecoder, SourcePosition } from '@app/cdc';
import { KafkaTestClient, ProducedMessage } from './kafka-mock-cluster';

interface Expected {
  offset: bigint;
  system: string;
  /** null: a truncate of the system. */
  recordKey: string | null;
  position: SourcePosition;
}

interface Stored {
  kind: string;
  key: string;
}

/**
 * Checks, while services consume, that a consumer group never commits an offset for work that
 * did not commit: every message below a partition's committed offset must be reflected in
 * PostgreSQL, its record stored at its position or a newer one (a truncate: the system's
 * truncate watermark). The committed offsets are read before the database, and PostgreSQL only
 * moves forward, so a sample never blames a commit that came after it.
 */
export class KafkaCommitAudit {
  private readonly expected = new Map<string, Expected[]>();
  private readonly checkedUpTo = new Map<string, bigint>();
  private readonly violations: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;
  samples = 0;

  constructor(
    private readonly kafka: KafkaTestClient,
    private readonly db: Client,
    private readonly groupId: string,
    private readonly decoder: ChangeEventDecoder,
  ) {}

  /** Remembers what was produced where (the producer's report), decoded as the service decodes it. */
  produced(topic: string, messages: readonly ProducedMessage[], where: ReadonlyArray<{ partition: number; offset: string }>): void {
    messages.forEach((m, i) => {
      const value = m.value === null ? null : typeof m.value === 'string' ? m.value : JSON.stringify(m.value);
      const decoded = this.decoder.decode({ topic, value });
      if (decoded.kind === 'skip') return;
      const tp = `${topic}[${where[i].partition}]`;
      const list = this.expected.get(tp) ?? [];
      list.push({
        offset: BigInt(where[i].offset),
        system: decoded.system,
        recordKey: decoded.kind === 'change' ? decoded.recordKey : null,
        position: decoded.position,
      });
      this.expected.set(tp, list);
    });
  }

  start(intervalMs = 50): void {
    this.timer = setInterval(() => {
      this.sampling ??= this.sample()
        .catch((e: Error) => {
          this.violations.push(`sample failed: ${e.message}`);
        })
        .finally(() => (this.sampling = null));
    }, intervalMs);
  }

  /** Stops sampling without a last sample (a test ending early). */
  async dispose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sampling;
  }

  /** Stops sampling, takes a last sample, and returns what was found. */
  async stop(): Promise<{ samples: number; checked: number; violations: string[] }> {
    if (this.timer) clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    let checked = 0;
    for (const [tp, list] of this.expected) checked += list.filter((e) => e.offset < (this.checkedUpTo.get(tp) ?? 0n)).length;
    return { samples: this.samples, checked, violations: this.violations };
  }

  private async sample(): Promise<void> {
    const topics = [...new Set([...this.expected.keys()].map((tp) => tp.slice(0, tp.lastIndexOf('['))))];
    const committed = await this.kafka.committed(this.groupId, topics);
    const records = await this.db.query<{ system: string; record_key: string; position_kind: string; position_key: string }>(
      'SELECT system, record_key::text AS record_key, position_kind, position_key FROM source_record',
    );
    const truncates = await this.db.query<{ system: string; position_kind: string; position_key: string }>('SELECT system, position_kind, position_key FROM source_truncate');
    const stored = new Map<string, Stored>(records.rows.map((r) => [`${r.system}|${r.record_key}`, { kind: r.position_kind, key: r.position_key }]));
    const watermarks = new Map<string, Stored>(truncates.rows.map((r) => [r.system, { kind: r.position_kind, key: r.position_key }]));
    this.samples++;
    for (const [tp, upTo] of committed) {
      const from = this.checkedUpTo.get(tp) ?? 0n;
      for (const e of this.expected.get(tp) ?? []) {
        if (e.offset < from || e.offset >= upTo) continue;
        const s = e.recordKey === null ? watermarks.get(e.system) : stored.get(`${e.system}|${e.recordKey}`);
        const what = e.recordKey === null ? `the truncate of ${e.system}` : `${e.system} record ${e.recordKey}`;
        if (!s) this.violations.push(`${tp}: offset ${upTo} committed, but ${what} (offset ${e.offset}, ${e.position.text}) is not in PostgreSQL`);
        else if (s.kind === e.position.kind && e.position.key > s.key) {
          this.violations.push(`${tp}: offset ${upTo} committed, but ${what} (offset ${e.offset}, ${e.position.text}) is stored at an older position`);
        }
      }
      if (upTo > from) this.checkedUpTo.set(tp, upTo);
    }
  }
}
