import { DecodeError, SourcePosition } from '@app/change-events';
import { InboundChange, retryUntilDone, undecodableChange } from '../transports/change-sink';
import { DeadLetterEntry, DirectSourceContext } from './direct-source';

/** A row of a first start's snapshot load, as a change and the row it came from (kept if it is dead-lettered). */
export interface SnapshotChange {
  change: InboundChange;
  raw: unknown;
}

/** A row read in a snapshot, as the change event of a read (`op: r`) at the snapshot's position, or undecodable with why. */
export function snapshotChange(ctx: DirectSourceContext, raw: Record<string, unknown>, position: SourcePosition): SnapshotChange {
  const { system } = ctx;
  const ref = `snapshot ${system.recordKey.map((k) => String(raw[k])).join(',')}`;
  try {
    return { change: { kind: 'event', event: ctx.events.changeOfRow(system, 'r', raw, position), ref }, raw };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { change: undecodableChange(e, ref), raw };
  }
}

/**
 * After the load, a truncate at the rows' position: every record of the system older than it,
 * i.e. every record the snapshot did not hold (the view was fed before: through Debezium, or by
 * an earlier slot or checkpoint), is deleted; the loaded rows, at exactly that position, are not
 * older. On an empty view it removes nothing.
 */
export function snapshotEnd(ctx: DirectSourceContext, position: SourcePosition): SnapshotChange {
  return { change: { kind: 'event', event: ctx.events.truncate(ctx.system, position), ref: 'snapshot: records the table no longer holds' }, raw: null };
}

/** Applies a batch of a snapshot load through the ingest use case (retried until it commits), dead-lettering what it refuses. */
export async function applySnapshotBatch(ctx: DirectSourceContext, batch: readonly SnapshotChange[], keepGoing: () => boolean): Promise<void> {
  const opts = { maxDelayMs: ctx.env.cdc.retryMaxMs, keepGoing, onRetry: (e: unknown) => ctx.logger.warn(`systems.${ctx.system.name}: snapshot batch not committed (${(e as Error).message}); retrying`) };
  const verdicts = await retryUntilDone(() => ctx.sink.apply(batch.map((b) => b.change)), opts);
  const dead: DeadLetterEntry[] = [];
  verdicts.forEach((v, i) => {
    if (v.kind === 'dead-letter') dead.push({ source: ctx.system.name, ref: batch[i].change.ref, code: v.code, reason: v.reason, payload: batch[i].raw });
  });
  if (dead.length > 0) await retryUntilDone(() => ctx.deadLetters.put(dead), opts);
}
