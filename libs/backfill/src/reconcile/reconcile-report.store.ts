import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BACKFILL_DATA_SOURCE } from '../database/backfill.database';
import { ReconcileReport } from './reconcile-report.model';

/** The reports of finished reconcile runs, kept in PostgreSQL for GraphQL and for trends. */
@Injectable()
export class ReconcileReportStore {
  constructor(@Inject(BACKFILL_DATA_SOURCE) private readonly db: DataSource) {}

  async save(report: ReconcileReport): Promise<void> {
    await this.db.query(`INSERT INTO reconcile_report (system, started_at, finished_at, agreed, report) VALUES ($1, $2, $3, $4, $5)`, [
      report.system,
      report.startedAt,
      report.finishedAt,
      report.agreed,
      JSON.stringify(report),
    ]);
  }

  /** The newest report of `system`, or of any system when it is null. */
  async last(system: string | null): Promise<ReconcileReport | null> {
    const rows: { report: ReconcileReport }[] =
      system === null
        ? await this.db.query(`SELECT report FROM reconcile_report ORDER BY id DESC LIMIT 1`)
        : await this.db.query(`SELECT report FROM reconcile_report WHERE system = $1 ORDER BY id DESC LIMIT 1`, [system]);
    return rows.length ? rows[0].report : null;
  }

  /** The newest report of each system. */
  async lastPerSystem(): Promise<ReconcileReport[]> {
    const rows: { report: ReconcileReport }[] = await this.db.query(
      `SELECT DISTINCT ON (system) report FROM reconcile_report ORDER BY system, id DESC`,
    );
    return rows.map((r) => r.report);
  }
}
