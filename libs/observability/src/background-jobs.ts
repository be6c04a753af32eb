import { Logger } from '@nestjs/common';
import { Counter, register } from 'prom-client';

/** A background job of the service: it runs on its own, so its failures must be seen without a caller. */
export type BackgroundJob = 'reprojection' | 'rule-set-sync' | 'rule-set-announce' | 'outbox-relay' | 'instance-heartbeat' | 'history-retention' | 'table-vacuum' | 'outbox-compaction';

export interface BackgroundJobHealth {
  failures: number;
  lastError: string | null;
  lastFailureAt: string | null;
  lastSuccessAt: string | null;
}

const failuresTotal =
  (register.getSingleMetric('statusview_background_failures_total') as Counter<string> | undefined) ??
  new Counter({ name: 'statusview_background_failures_total', help: 'Failures of background jobs (reprojection, rule set sync and announcement, outbox relay and compaction, instance heartbeat, history retention, table vacuum), by job', labelNames: ['job'] });

const state = new Map<BackgroundJob, BackgroundJobHealth>();
const logger = new Logger('background');

function entry(job: BackgroundJob): BackgroundJobHealth {
  let s = state.get(job);
  if (!s) state.set(job, (s = { failures: 0, lastError: null, lastFailureAt: null, lastSuccessAt: null }));
  return s;
}

/**
 * What every background job does with a failure instead of swallowing it: logs it (once per
 * `logEvery` failures in a row, so that an outage does not flood the log), counts it in
 * `statusview_background_failures_total{job}`, and keeps the last one for `/health`.
 */
export function backgroundFailed(job: BackgroundJob, error: unknown, what: string, logEvery = 1): void {
  const s = entry(job);
  s.failures++;
  s.lastError = `${what}: ${(error as Error)?.message ?? String(error)}`;
  s.lastFailureAt = new Date().toISOString();
  failuresTotal.inc({ job });
  if ((s.failures - 1) % logEvery === 0) logger.warn(`${job}: ${s.lastError}`);
}

/** A run of the job that went through (shown beside its last failure). */
export function backgroundSucceeded(job: BackgroundJob): void {
  entry(job).lastSuccessAt = new Date().toISOString();
}

/** Every job that failed at least once since start, for `/health`. */
export function backgroundHealth(): Partial<Record<BackgroundJob, BackgroundJobHealth>> {
  const out: Partial<Record<BackgroundJob, BackgroundJobHealth>> = {};
  for (const [job, s] of state) if (s.failures > 0) out[job] = { ...s };
  return out;
}
