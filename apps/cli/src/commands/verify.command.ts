import { Command, CommandRunner, Option } from 'nest-commander';
import { CliPrinter } from '../output/cli.printer';
import { ProgressReporter } from '../output/progress.reporter';
import { verifyReportLines } from '../output/summary.formatter';
import { WorkContextFactory } from '../work-context.factory';
import { outputFormat, OutputFormat, positiveInteger, positiveNumber } from './command-options';
import { describeFailure, ExitCode } from './exit-code';
import { Interruption } from './interruption';

interface VerifyCommandOptions {
  cache?: boolean;
  repair?: boolean;
  limit?: number;
  batchSize?: number;
  format?: OutputFormat;
  progressEvery?: number;
}

@Command({
  name: 'verify',
  description:
    'Check the projection against itself: every customer resolved again from its stored records with the active rule set; exit 0 when it agrees, 1 when it does not, 2 when it cannot run',
})
export class VerifyCommand extends CommandRunner {
  constructor(
    private readonly contexts: WorkContextFactory,
    private readonly printer: CliPrinter,
  ) {
    super();
  }

  async run(_params: string[], options: VerifyCommandOptions): Promise<void> {
    const interruption = new Interruption(this.printer);
    const progress = new ProgressReporter(this.printer, 'verify', (options.progressEvery ?? 5) * 1000);
    try {
      const ctx = await this.contexts.open();
      try {
        const report = await ctx.verify.execute({
          cache: options.cache,
          repair: options.repair,
          limit: options.limit,
          batchSize: options.batchSize,
          signal: interruption.signal,
          onProgress: (p) => progress.update({ rowsRead: p.customers, total: p.total, rowsThisRun: p.customers, elapsedMs: p.elapsedMs }),
        });
        progress.stop();
        if (options.format === 'json') this.printer.json(report);
        else for (const line of verifyReportLines(report)) this.printer.out(line);
        process.exitCode = report.interrupted ? ExitCode.Interrupted : report.agreed ? ExitCode.Ok : ExitCode.Differences;
      } finally {
        await ctx.close();
      }
    } catch (e) {
      this.printer.error(describeFailure(e));
      process.exitCode = ExitCode.Failed;
    } finally {
      progress.stop();
      interruption.dispose();
    }
  }

  @Option({ flags: '--cache', description: 'also compare the Redis entries with PostgreSQL' })
  parseCache(): boolean {
    return true;
  }

  @Option({ flags: '--repair', description: 'resolve differing customers again through the projection path, drop differing cache entries' })
  parseRepair(): boolean {
    return true;
  }

  @Option({ flags: '--limit <n>', description: 'how many differences to list (all are counted; default 20)' })
  parseLimit(value: string): number {
    return positiveInteger('--limit')(value);
  }

  @Option({ flags: '--batch-size <customers>', description: 'customers per page (default 2000)' })
  parseBatchSize(value: string): number {
    return positiveInteger('--batch-size')(value);
  }

  @Option({ flags: '--format <text|json>', description: 'report format (default text)' })
  parseFormat(value: string): OutputFormat {
    return outputFormat(value);
  }

  @Option({ flags: '--progress-every <seconds>', description: 'without a terminal, a progress line this often (default 5)' })
  parseProgressEvery(value: string): number {
    return positiveNumber('--progress-every')(value);
  }
}
