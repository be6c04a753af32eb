import { Injectable } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { DIFFERENCE_KINDS, ReconcileReport } from './reconcile-report.model';

export const DRIFT_METRIC = 'statusview_reconcile_drift';

/** One gauge in the default registry, whoever registers it first (the CLI and the API may both load this). */
function driftGauge(): Gauge<'system' | 'kind'> {
  const existing = register.getSingleMetric(DRIFT_METRIC);
  if (existing) return existing as Gauge<'system' | 'kind'>;
  return new Gauge({
    name: DRIFT_METRIC,
    help: 'Records on which the view and the legacy system disagree, by kind (missing, gone, differs, unmappable), as of the last reconcile; repaired records are not counted',
    labelNames: ['system', 'kind'],
  });
}

@Injectable()
export class ReconcileMetrics {
  private readonly gauge = driftGauge();

  record(report: ReconcileReport): void {
    for (const kind of DIFFERENCE_KINDS) {
      const left = report.counts[kind] - (report.repaired?.[kind] ?? 0);
      this.gauge.set({ system: report.system, kind }, Math.max(0, left));
    }
    this.gauge.set({ system: report.system, kind: 'unmappable' }, report.counts.unmappable);
  }

  /** The registry in Prometheus' text format (for a textfile collector). */
  text(): Promise<string> {
    return register.metrics();
  }
}
