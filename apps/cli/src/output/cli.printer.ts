import { Injectable } from '@nestjs/common';
import { printable } from './printable';

/**
 * The CLI's only way out: results to stdout, notices, progress and errors to stderr (stdout stays
 * parseable). `out`, `notice` and `error` print one line each, with control characters escaped
 * (see `printable`); `json` and `raw` print text that is already safe (JSON, YAML, progress bars).
 */
@Injectable()
export class CliPrinter {
  readonly stderrIsTty = process.stderr.isTTY === true;

  out(line = ''): void {
    process.stdout.write(`${printable(line)}\n`);
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  notice(line: string): void {
    process.stderr.write(`${printable(line)}\n`);
  }

  /** One line naming what is wrong; no stack trace (a bug's stack, too, is one line, with `\n` escapes). */
  error(line: string): void {
    process.stderr.write(`statusview: ${printable(line)}\n`);
  }

  raw(text: string): void {
    process.stderr.write(text);
  }
}

/**
 * Resolves once everything written to stdout and stderr has been handed to the OS. To a pipe,
 * Node writes asynchronously: exiting before this cut long outputs (a validation's thousands of
 * warnings) at about 64 KB.
 */
export async function flushOutput(): Promise<void> {
  const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
}
