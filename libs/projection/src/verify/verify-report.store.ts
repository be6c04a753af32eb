import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { setScrapeSource } from '@app/observability';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';
import { VERIFY_KINDS, VerifyReport } from './verify-report.model';

/** The reports of `verify`; the service shows the last one in /metrics. */
@Injectable()
export class VerifyReportStore implements OnModuleInit {
  constructor(@Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource) {}

  onModuleInit(): void {
    setScrapeSource('verifyDifferences', async () => {
      const last = await this.last();
      if (!last) return [];
      return VERIFY_KINDS.map((kind) => ({ labels: { kind }, value: Math.max(0, last.counts[kind] - (last.repaired?.[kind] ?? 0)) }));
    });
    setScrapeSource('verifyLastRun', async () => {
      const last = await this.last();
      return last ? [{ labels: {}, value: Date.parse(last.finishedAt) / 1000 }] : [];
    });
  }

  async save(report: VerifyReport): Promise<void> {
    await this.db.query('INSERT INTO verify_report (started_at, finished_at, agreed, report) VALUES ($1, $2, $3, $4)', [
      report.startedAt,
      report.finishedAt,
      report.agreed,
      JSON.stringify(report),
    ]);
  }

  async last(): Promise<VerifyReport | null> {
    const rows: Array<{ report: VerifyReport }> = await this.db.query('SELECT report FROM verify_report ORDER BY id DESC LIMIT 1');
    return rows[0]?.report ?? null;
  }
}
