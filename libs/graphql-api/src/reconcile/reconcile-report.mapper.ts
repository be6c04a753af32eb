import { ReconcileReport as StoredReport } from '@app/backfill';
import { ReconcileReport } from '../generated/graphql';

/** A stored report as schema/reconcile.graphql shows it; every difference kept, `differences(first)` picks. */
export function toReconcileReport(r: StoredReport): ReconcileReport {
  return {
    system: r.system,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    position: r.position,
    agreed: r.agreed,
    legacyRows: r.legacyRows,
    viewRecords: r.viewRecords,
    missing: r.counts.missing,
    gone: r.counts.gone,
    differs: r.counts.differs,
    unmappable: r.counts.unmappable,
    inFlight: r.counts.inFlight,
    repaired: r.repaired ? r.repaired.missing + r.repaired.gone + r.repaired.differs : null,
    differences: r.differences.map((d) => ({
      kind: d.kind,
      recordKey: d.recordKey,
      customerId: d.customerId,
      legacyStatus: d.legacy?.status ?? null,
      viewStatus: d.view && !d.view.deleted ? d.view.status : null,
      detail: d.detail,
    })),
  };
}
