import { CliPrinter } from '../output/cli.printer';
import { ProgressReporter } from '../output/progress.reporter';
import { WorkContext, WorkContextFactory } from '../work-context.factory';
import { OutputFormat, targetSystems } from './command-options';
import { describeFailure, ExitCode } from './exit-code';
import { Interruption } from './interruption';

export interface PerSystemOptions {
  system?: string;
  all?: boolean;
  format?: OutputFormat;
  progressEvery?: number;
}

/** One command run over `--system` or `--all`: what differs between backfill and reconcile. */
export interface PerSystemJob<T> {
  /** The command's name, in progress lines. */
  name: string;
  run(ctx: WorkContext, system: string, signal: AbortSignal, progress: ProgressReporter): Promise<T>;
  /** The text summary of one system's result. */
  lines(result: T): string[];
  /** After the last system, with the connections still open. */
  afterAll?(ctx: WorkContext): Promise<void>;
  /** Exit code when every system ran and nothing was interrupted. */
  exitCode(results: T[]): ExitCode;
  interrupted(result: T): boolean;
}

/**
 * The systems one after the other, with a progress bar or lines, Ctrl-C handling, a summary per
 * system (or one JSON document at the end) and the exit code; bad input and unreachable servers
 * are one line and exit 2.
 */
export async function runPerSystem<T>(contexts: WorkContextFactory, printer: CliPrinter, options: PerSystemOptions, job: PerSystemJob<T>): Promise<void> {
  const interruption = new Interruption(printer);
  const results: T[] = [];
  try {
    const { domain } = contexts.loadConfig();
    const systems = targetSystems(options, domain);
    if (typeof systems === 'string') {
      printer.error(systems);
      process.exitCode = ExitCode.Failed;
      return;
    }
    const ctx = await contexts.open();
    try {
      for (const system of systems) {
        if (interruption.signal.aborted) break;
        const progress = new ProgressReporter(printer, `${job.name} ${system}`, (options.progressEvery ?? 5) * 1000);
        try {
          results.push(await job.run(ctx, system, interruption.signal, progress));
        } finally {
          progress.stop();
        }
        if (options.format !== 'json') for (const line of job.lines(results[results.length - 1])) printer.out(line);
      }
      await job.afterAll?.(ctx);
    } finally {
      await ctx.close();
    }
    if (options.format === 'json') printer.json(options.all ? results : results[0]);
    process.exitCode = interruption.signal.aborted || results.some((r) => job.interrupted(r)) ? ExitCode.Interrupted : job.exitCode(results);
  } catch (e) {
    printer.error(describeFailure(e));
    process.exitCode = ExitCode.Failed;
  } finally {
    interruption.dispose();
  }
}
