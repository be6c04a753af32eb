import { writeFileSync } from 'node:fs';
import { Command, CommandRunner, Option } from 'nest-commander';
import { ReconcileReport } from '@app/backfill';
import { CliPrinter } from '../output/cli.printer';
import { reconcileReportLines } from '../output/summary.formatter';
import { WorkContextFactory } from '../work-context.factory';
import { outputFormat, OutputFormat, positiveInteger, positiveNumber } from './command-options';
import { ExitCode } from './exit-code';
import { runPerSystem } from './per-system.run';

interface ReconcileCommandOptions {
  system?: string;
  all?: boolean;
  repair?: boolean;
  limit?: number;
  batchSize?: number;
  format?: OutputFormat;
  metricsFile?: string;
  progressEvery?: number;
}

@Command({
  name: 'reconcile',
  description:
    'Compare a legacy table with the view (missing, gone, differing records); exit 0 when they agree, 1 when they do not, 2 when it cannot run',
})
export class ReconcileCommand extends CommandRunner {
  constructor(
    private readonly contexts: WorkContextFactory,
    private readonly printer: CliPrinter,
  ) {
    super();
  }

  async run(_params: string[], options: ReconcileCommandOptions): Promise<void> {
    await runPerSystem<ReconcileReport>(this.contexts, this.printer, options, {
      name: 'reconcile',
      run: (ctx, system, signal, progress) =>
        ctx.reconcile.execute({
          system,
          repair: options.repair,
          limit: options.limit,
          batchSize: options.batchSize,
          signal,
          onProgress: (p) => progress.update({ ...p, rowsThisRun: p.rowsRead }),
          onNotice: (m) => this.printer.notice(m),
        }),
      lines: reconcileReportLines,
      afterAll: async (ctx) => {
        if (options.metricsFile) writeFileSync(options.metricsFile, await ctx.metrics.text());
      },
      interrupted: (r) => r.interrupted,
      exitCode: (reports) => (reports.every((r) => r.agreed) ? ExitCode.Ok : ExitCode.Differences),
    });
  }

  @Option({ flags: '-s, --system <name>', description: 'the system to check (a name in sources.yaml)' })
  parseSystem(value: string): string {
    return value;
  }

  @Option({ flags: '--all', description: 'every system that has a connection in sources.yaml' })
  parseAll(): boolean {
    return true;
  }

  @Option({
    flags: '--repair',
    description: 're-apply the legacy rows that are missing or differ, and mark records gone from the legacy table as deleted, through the projection path',
  })
  parseRepair(): boolean {
    return true;
  }

  @Option({ flags: '--limit <n>', description: 'how many differences to list (all are counted; default 20)' })
  parseLimit(value: string): number {
    return positiveInteger('--limit')(value);
  }

  @Option({ flags: '--batch-size <rows>', description: 'rows per page on each side (default 5000)' })
  parseBatchSize(value: string): number {
    return positiveInteger('--batch-size')(value);
  }

  @Option({ flags: '--format <text|json>', description: 'report format (default text)' })
  parseFormat(value: string): OutputFormat {
    return outputFormat(value);
  }

  @Option({ flags: '--metrics-file <path>', description: 'also write statusview_reconcile_drift in Prometheus text format (textfile collector)' })
  parseMetricsFile(value: string): string {
    return value;
  }

  @Option({ flags: '--progress-every <seconds>', description: 'without a terminal, a progress line this often (default 5)' })
  parseProgressEvery(value: string): number {
    return positiveNumber('--progress-every')(value);
  }
}
