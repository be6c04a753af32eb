import { BackfillSummary, ReconcileReport } from '@app/backfill';
import { VERIFY_KIND_TEXT, VERIFY_KINDS, VerifyReport } from '@app/projection';
import { formatDuration } from './progress.reporter';

/** Human-readable summaries; `--format json` prints the objects themselves. */
export function backfillSummaryLines(s: BackfillSummary): string[] {
  const rate = s.durationMs > 0 ? Math.round((s.rowsRead / s.durationMs) * 1000) : 0;
  const head = s.dryRun ? `backfill ${s.system} (dry run, nothing written)` : `backfill ${s.system}`;
  const state = s.alreadyFinished ? 'already finished' : s.interrupted ? 'interrupted: run again with --resume' : 'done';
  const lines = [
    `${head}: ${state}`,
    `  source          ${s.source}`,
    `  start position  ${s.startPosition}${s.resumedFrom ? ` (resumed after key ${s.resumedFrom.join(',')})` : ''}`,
    `  rows read       ${s.rowsRead}`,
  ];
  if (s.dryRun) {
    lines.push(
      `  would insert    ${s.dryRun.wouldInsert}`,
      `  would update    ${s.dryRun.wouldUpdate}`,
      `  kept (newer)    ${s.dryRun.keptNewer}`,
      `  unchanged       ${s.unchanged}`,
      `  status changes  ${s.dryRun.statusChanges}`,
    );
    for (const c of s.dryRun.samples) lines.push(`    ${c.recordKey} (${c.customerId ?? '-'}): ${c.from ?? '(none)'} → ${c.to}`);
  } else {
    lines.push(
      `  records changed ${s.recordsChanged}`,
      `  unchanged       ${s.unchanged}`,
      `  kept (newer)    ${s.stale}`,
      `  customers changed ${s.customersChanged}`,
    );
  }
  lines.push(`  unmappable      ${s.unmappable}`);
  for (const u of s.unmappableSamples) lines.push(`    ${u.recordKey}: ${u.reason}`);
  lines.push(`  duration        ${formatDuration(s.durationMs)} (${rate} rows/s)`);
  return lines;
}

export function reconcileReportLines(r: ReconcileReport): string[] {
  const verdict = r.interrupted ? 'interrupted' : r.agreed ? 'the view agrees with the legacy table' : 'the view and the legacy table differ';
  const rep = r.repaired;
  const lines = [
    `reconcile ${r.system}: ${verdict}`,
    `  source          ${r.source}`,
    `  position        ${r.position}`,
    `  legacy rows     ${r.legacyRows}`,
    `  view records    ${r.viewRecords}`,
    `  missing         ${r.counts.missing}${rep ? ` (repaired ${rep.missing})` : ''}`,
    `  gone            ${r.counts.gone}${rep ? ` (repaired ${rep.gone})` : ''}`,
    `  differs         ${r.counts.differs}${rep ? ` (repaired ${rep.differs})` : ''}`,
    `  unmappable      ${r.counts.unmappable}`,
    `  in flight       ${r.counts.inFlight}`,
    `  duration        ${formatDuration(r.durationMs)}`,
  ];
  if (r.differences.length) {
    lines.push(`  first differences:`);
    for (const d of r.differences) lines.push(`    ${d.kind.padEnd(8)} ${d.recordKey} (${d.customerId ?? '-'}): ${d.detail}`);
  }
  for (const u of r.unmappableSamples) lines.push(`    unmappable ${u.recordKey}: ${u.reason}`);
  return lines;
}

export function verifyReportLines(r: VerifyReport): string[] {
  const verdict = r.interrupted ? 'interrupted' : r.agreed ? 'the projection agrees with itself' : 'the projection disagrees with itself';
  const rep = r.repaired;
  const lines = [
    `verify: ${verdict}`,
    `  rule set        version ${r.ruleSetVersion}`,
    `  customers       ${r.customers}`,
    `  records         ${r.records}`,
  ];
  for (const kind of VERIFY_KINDS) {
    if (kind === 'cache' && !r.cacheChecked) continue;
    lines.push(`  ${kind.padEnd(15)} ${r.counts[kind]}${rep ? ` (repaired ${rep[kind]})` : ''}   ${VERIFY_KIND_TEXT[kind]}`);
  }
  if (r.pendingReprojection > 0) lines.push(`  not reprojected ${r.pendingReprojection} (a reprojection to version ${r.ruleSetVersion} is running; not counted)`);
  lines.push(`  duration        ${formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt))}`);
  if (r.first.length) {
    lines.push('  first differences:');
    for (const d of r.first) lines.push(`    ${d.kind.padEnd(8)} ${d.customerId}: ${d.detail}`);
  }
  return lines;
}
