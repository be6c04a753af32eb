import { Command, CommandRunner, Option } from 'nest-commander';
import { BackfillSummary } from '@app/backfill';
import { CliPrinter } from '../output/cli.printer';
import { backfillSummaryLines } from '../output/summary.formatter';
import { WorkContextFactory } from '../work-context.factory';
import { outputFormat, OutputFormat, positiveInteger, positiveNumber } from './command-options';
import { ExitCode } from './exit-code';
import { runPerSystem } from './per-system.run';

interface BackfillCommandOptions {
  system?: string;
  all?: boolean;
  resume?: boolean;
  dryRun?: boolean;
  rate?: number;
  batchSize?: number;
  concurrency?: number;
  format?: OutputFormat;
  progressEvery?: number;
  generalPath?: boolean;
}

@Command({
  name: 'backfill',
  description:
    'Load the projection from a legacy table through its read-only connection, in primary-key order, through the same decoding, mapping and projection code as change events',
})
export class BackfillCommand extends CommandRunner {
  constructor(
    private readonly contexts: WorkContextFactory,
    private readonly printer: CliPrinter,
  ) {
    super();
  }

  async run(_params: string[], options: BackfillCommandOptions): Promise<void> {
    await runPerSystem<BackfillSummary>(this.contexts, this.printer, options, {
      name: 'backfill',
      run: (ctx, system, signal, progress) =>
        ctx.backfill.execute({
          system,
          resume: options.resume,
          dryRun: options.dryRun,
          rate: options.rate ?? null,
          batchSize: options.batchSize,
          concurrency: options.concurrency,
          initialLoad: !options.generalPath,
          signal,
          onProgress: (p) => progress.update(p),
          onNotice: (m) => this.printer.notice(m),
        }),
      lines: backfillSummaryLines,
      afterAll: async (ctx) => {
        const waiting = await ctx.outboxBacklog();
        if (waiting) this.printer.notice(`${waiting} status changes wait in the outbox: the service's relay publishes them (OUTBOX_RELAY=true makes this command relay them too)`);
      },
      interrupted: (s) => s.interrupted,
      exitCode: () => ExitCode.Ok,
    });
  }

  @Option({ flags: '-s, --system <name>', description: 'the system to load (a name in sources.yaml)' })
  parseSystem(value: string): string {
    return value;
  }

  @Option({ flags: '--all', description: 'every system that has a connection in sources.yaml, one after the other' })
  parseAll(): boolean {
    return true;
  }

  @Option({ flags: '--resume', description: 'go on after the last committed batch of an interrupted run' })
  parseResume(): boolean {
    return true;
  }

  @Option({ flags: '--dry-run', description: 'read, map and compare with the view; report what would change, write nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--rate <rows-per-second>', description: 'read at most this many rows per second (protects the legacy database)' })
  parseRate(value: string): number {
    return positiveNumber('--rate')(value);
  }

  @Option({ flags: '--batch-size <rows>', description: 'rows per page and per projection transaction (default 5000)' })
  parseBatchSize(value: string): number {
    return positiveInteger('--batch-size')(value);
  }

  @Option({ flags: '--concurrency <pages>', description: 'pages projected at once; the next page is read while one commits (default 2)' })
  parseConcurrency(value: string): number {
    return positiveInteger('--concurrency')(value);
  }

  @Option({
    flags: '--general-path',
    description: 'send every page through the path live events take, also pages of customers the view does not know yet (slower; caches them at once)',
  })
  parseGeneralPath(): boolean {
    return true;
  }

  @Option({ flags: '--format <text|json>', description: 'summary format (default text)' })
  parseFormat(value: string): OutputFormat {
    return outputFormat(value);
  }

  @Option({ flags: '--progress-every <seconds>', description: 'without a terminal, a progress line this often (default 5)' })
  parseProgressEvery(value: string): number {
    return positiveNumber('--progress-every')(value);
  }
}
