import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Injectable, Logger } from '@nestjs/common';
import { batchCommitSeconds, batchSize, deadLettered, eventsConsumed, eventsStale, freshnessSeconds, messagesSkipped } from '@app/observability';
import { ChangeBatchHandler, ChangeEvent, DecodeError, InboundMessage, MessageVerdict, TruncateEvent, ChangeEventDecoder } from '@app/cdc';
import { ApplyChangesUseCase, isDataError, isTransient } from '@app/projection';

/**
 * Decodes a transport's batch and applies it through the projection path. Bad messages get a
 * dead-letter verdict with their reason; the rest of the batch goes on. If the batch as a whole
 * fails for a reason that is not an outage, each event is retried alone so one poisoned message
 * cannot hold back or sink the others.
 */
@Injectable()
export class ChangeBatchProcessor implements ChangeBatchHandler {
  private readonly logger = new Logger('ingest');

  constructor(
    private readonly decoder: ChangeEventDecoder,
    private readonly applyChanges: ApplyChangesUseCase,
  ) {}

  async handle(batch: readonly InboundMessage[]): Promise<MessageVerdict[]> {
    const batchId = randomUUID().slice(0, 8);
    const started = performance.now();
    const verdicts: MessageVerdict[] = batch.map(() => ({ kind: 'done' }));
    const events: Array<ChangeEvent | TruncateEvent> = [];
    const origin: number[] = [];
    batch.forEach((m, i) => {
      try {
        const decoded = this.decoder.decode({ topic: m.topic, value: m.value });
        if (decoded.kind === 'skip') messagesSkipped.inc({ reason: decoded.reason });
        else {
          events.push(decoded);
          origin.push(i);
        }
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        verdicts[i] = { kind: 'dead-letter', code: e.code, reason: e.message };
      }
    });
    if (events.length > 0) await this.apply(events, origin, verdicts);
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

  private async apply(events: Array<ChangeEvent | TruncateEvent>, origin: number[], verdicts: MessageVerdict[]): Promise<void> {
    try {
      const outcome = await this.applyChanges.execute(events);
      this.count(events, outcome.stale);
      for (const r of outcome.rejected) verdicts[origin[r.index]] = { kind: 'dead-letter', code: r.error.code, reason: r.error.message };
      return;
    } catch (e) {
      // An outage, or a failure that is not about the data (it would refuse every event alike):
      // nothing is acknowledged and the transport retries, paused, until it is fixed.
      if (isTransient(e) || !isDataError(e)) throw e;
      if (events.length === 1) {
        verdicts[origin[0]] = { kind: 'dead-letter', code: 'REJECTED_BY_STORE', reason: `the store refused it: ${(e as Error).message}` };
        return;
      }
      this.logger.warn(`batch of ${events.length} refused by the store (${(e as Error).message}); applying its events one by one`);
    }
    for (let i = 0; i < events.length; i++) await this.apply([events[i]], [origin[i]], verdicts);
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
