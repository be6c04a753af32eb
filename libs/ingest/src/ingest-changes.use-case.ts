import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { batchCommitSeconds, batchSize, deadLettered, eventsConsumed, eventsStale, freshnessSeconds, messagesSkipped } from '@app/observability';
import { ApplyOptions, ChangeSink, InboundChange, MessageVerdict } from '@app/cdc';
import { ChangeEvent, SourceCheckpoint, TruncateEvent } from '@app/change-events';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { ApplyChangesUseCase, describeFailure, isDataError, isTransient } from '@app/projection';

/**
 * Thrown instead of dead-lettering once the store has refused too many events in a row with none
 * accepted between them: a constraint or a column that refuses every event alike also answers
 * with a data error, and the queue must not be emptied into the dead-letter queue for it.
 */
export class StoreRefusingAllError extends Error {
  constructor(
    readonly refusals: number,
    readonly max: number,
    override readonly cause: unknown,
  ) {
    super(
      `the store refused ${refusals} events in a row, none accepted between them (CDC_MAX_REFUSALS_IN_A_ROW=${max}): ` +
        `taken for a failure of the store rather than of the events, the batch is retried; last refusal: ${describeFailure(cause)}`,
    );
  }
}

/**
 * The one ingest use case: every transport (RabbitMQ, Kafka, a replication stream, the binlog)
 * hands it change events, and it applies them through the projection path. Changes that could not
 * be decoded get a dead-letter verdict with their reason; the rest of the batch goes on. If the store refuses the
 * batch because of an event (see isDataError), the batch is split in halves until the events it
 * refuses are alone, and those are dead-lettered: one poisoned message cannot hold back or sink the
 * others, and finding it takes a few transactions, not one per event. A failure that is not about
 * an event (an outage, a permission, a bug) is thrown: nothing is acknowledged and the transport
 * retries the batch, while the consumer shows as stalled.
 */
@Injectable()
export class IngestChangesUseCase implements ChangeSink {
  private readonly logger = new Logger('ingest');
  private readonly maxRefusalsInARow: number;
  /** Events the store refused since it last accepted one (across batches and concurrent batches). */
  private refusedInARow = 0;

  constructor(
    private readonly applyChanges: ApplyChangesUseCase,
    @Inject(ENV_CONFIG) env: EnvConfig,
  ) {
    this.maxRefusalsInARow = env.cdc.maxRefusalsInARow;
  }

  async apply(batch: readonly InboundChange[], options: ApplyOptions = {}): Promise<MessageVerdict[]> {
    const batchId = randomUUID().slice(0, 8);
    const started = performance.now();
    const verdicts: MessageVerdict[] = batch.map(() => ({ kind: 'done' }));
    const events: Array<ChangeEvent | TruncateEvent> = [];
    const origin: number[] = [];
    batch.forEach((c, i) => {
      switch (c.kind) {
        case 'event':
          events.push(c.event);
          origin.push(i);
          return;
        case 'skip':
          messagesSkipped.inc({ reason: c.reason });
          return;
        case 'undecodable':
          verdicts[i] = { kind: 'dead-letter', code: c.code, reason: c.reason };
          // Dead-lettered, and its record withdrawn from the customer it had (see DecodeError.withdraw).
          if (c.withdraw) {
            events.push(c.withdraw);
            origin.push(i);
          }
          return;
      }
    });
    const { checkpoint } = options;
    // The checkpoint goes with the last transaction that commits events; if there is none (no
    // events, or the last ones were refused alone), it is written by itself after them.
    const checkpointed = events.length > 0 ? await this.applyEvents(events, origin, verdicts, checkpoint) : false;
    if (checkpoint && !checkpointed) await this.applyChanges.checkpoint(checkpoint);
    let dead = 0;
    for (const v of verdicts) {
      if (v.kind !== 'dead-letter') continue;
      dead++;
      deadLettered.inc({ code: v.code });
    }
    const ms = performance.now() - started;
    batchSize.observe(batch.length);
    batchCommitSeconds.observe(ms / 1000);
    this.logger.debug({ msg: 'batch committed', batchId, messages: batch.length, events: events.length, deadLettered: dead, ms: Math.round(ms) });
    return verdicts;
  }

  /** True when `checkpoint` was committed with the events. */
  private async applyEvents(
    events: Array<ChangeEvent | TruncateEvent>,
    origin: number[],
    verdicts: MessageVerdict[],
    checkpoint?: SourceCheckpoint,
  ): Promise<boolean> {
    try {
      const outcome = await this.applyChanges.execute(events, Date.now(), checkpoint);
      this.refusedInARow = 0;
      this.count(events, outcome.stale);
      for (const r of outcome.rejected) verdicts[origin[r.index]] = { kind: 'dead-letter', code: r.error.code, reason: r.error.message };
      return checkpoint !== undefined;
    } catch (e) {
      // An outage, or a failure that is not about the data (it would refuse every event alike):
      // nothing is acknowledged and the transport retries, paused, until it is fixed.
      if (isTransient(e) || !isDataError(e)) throw e;
      if (events.length === 1) {
        // Checked at the single event only: an event of the batch the store accepts resets the count.
        if (this.refusedInARow >= this.maxRefusalsInARow) throw new StoreRefusingAllError(this.refusedInARow, this.maxRefusalsInARow, e);
        this.refusedInARow++;
        verdicts[origin[0]] = { kind: 'dead-letter', code: 'REJECTED_BY_STORE', reason: `the store refused it: ${describeFailure(e)}` };
        return false;
      }
      this.logger.warn(`batch of ${events.length} refused by the store (${describeFailure(e)}); splitting it to find the events it refuses`);
    }
    // Halves in order, so truncates still apply in order with the changes around them.
    const half = Math.ceil(events.length / 2);
    // Only the last half carries the checkpoint: the first half's commit must not claim the second's.
    await this.applyEvents(events.slice(0, half), origin.slice(0, half), verdicts);
    return this.applyEvents(events.slice(half), origin.slice(half), verdicts, checkpoint);
  }

  private count(events: Array<ChangeEvent | TruncateEvent>, stale: number): void {
    const now = Date.now();
    for (const e of events) {
      eventsConsumed.inc({ system: e.system, op: e.kind === 'truncate' ? 't' : e.op });
      if (e.position.tsMs !== null) freshnessSeconds.observe(Math.max(0, now - e.position.tsMs) / 1000);
    }
    if (stale > 0) eventsStale.inc(stale);
  }
}
