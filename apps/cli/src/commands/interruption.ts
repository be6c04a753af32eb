import { CliPrinter } from '../output/cli.printer';

/**
 * Ctrl-C (or SIGTERM) once: finish the batch in flight, save the checkpoint, stop. Twice: quit at
 * once; the last committed checkpoint still holds, and --resume goes on from it.
 */
export class Interruption {
  private readonly controller = new AbortController();
  private readonly handler = (signal: NodeJS.Signals) => {
    if (this.controller.signal.aborted) {
      this.printer.notice(`${signal} again: quitting now`);
      process.exit(130);
    }
    this.printer.notice(`${signal}: stopping after the batch in flight (again to quit at once)`);
    this.controller.abort();
  };

  constructor(private readonly printer: CliPrinter) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
