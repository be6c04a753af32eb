import { ReconcileReport } from './reconcile-report.model';

/** The GraphQL shapes of schema/reconcile.graphql, written by hand until the types are generated. */
export interface ReconcileDifferenceGql {
  kind: string;
  recordKey: string;
  customerId: string | null;
  legacyStatus: string | null;
  viewStatus: string | null;
  detail: string;
}

export interface ReconcileReportGql {
  system: string;
  startedAt: string;
  finishedAt: string;
  position: string;
  agreed: boolean;
  legacyRows: number;
  viewRecords: number;
  missing: number;
  gone: number;
  differs: number;
  unmappable: number;
  inFlight: number;
  repaired: number | null;
  differences: ReconcileDifferenceGql[];
}

export function toReconcileReportGql(r: ReconcileReport): ReconcileReportGql {
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
