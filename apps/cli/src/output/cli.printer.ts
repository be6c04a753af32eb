import { Injectable } from '@nestjs/common';

/** The CLI's only way out: results to stdout, notices, progress and errors to stderr (stdout stays parseable). */
@Injectable()
export class CliPrinter {
  readonly stderrIsTty = process.stderr.isTTY === true;

  out(line = ''): void {
    process.stdout.write(`${line}\n`);
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  notice(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  /** One line naming what is wrong; no stack trace. */
  error(line: string): void {
    process.stderr.write(`statusview: ${line}\n`);
  }

  raw(text: string): void {
    process.stderr.write(text);
  }
}
