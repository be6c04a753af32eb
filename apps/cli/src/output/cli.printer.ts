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
