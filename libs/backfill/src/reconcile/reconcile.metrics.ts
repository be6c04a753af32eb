import { Injectable, OnModuleInit } from '@nestjs/common';
import { metricsRegistry, reconcileDrift, setScrapeSource } from '@app/observability';
import { DIFFERENCE_KINDS, ReconcileReport } from './reconcile-report.model';
import { ReconcileReportStore } from './reconcile-report.store';

/** What a report leaves unresolved, per kind: differences found minus those repaired, and unmappable rows. */
export function driftOf(report: ReconcileReport): Array<{ labels: { system: string; kind: string }; value: number }> {
  const out: Array<{ labels: { system: string; kind: string }; value: number }> = DIFFERENCE_KINDS.map((kind) => ({
    labels: { system: report.system, kind },
    value: Math.max(0, report.counts[kind] - (report.repaired?.[kind] ?? 0)),
  }));
  out.push({ labels: { system: report.system, kind: 'unmappable' }, value: report.counts.unmappable });
  return out;
}

/** The drift gauge as the reconcile command sets it, in its own process. */
@Injectable()
export class ReconcileMetrics {
  record(report: ReconcileReport): void {
    for (const d of driftOf(report)) reconcileDrift.set(d.labels, d.value);
  }

  /** The registry in Prometheus' text format (for a textfile collector). */
  text(): Promise<string> {
    return metricsRegistry.metrics();
  }
}

/** In the service: the drift gauge at scrape time, from the last stored report of each system. */
@Injectable()
export class ReconcileDriftSource implements OnModuleInit {
  constructor(private readonly reports: ReconcileReportStore) {}

  onModuleInit(): void {
    setScrapeSource('reconcileDrift', async () => (await this.reports.lastPerSystem()).flatMap(driftOf));
  }
}
