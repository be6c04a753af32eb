import { AccessError } from '@app/access';
import { BackfillError } from '@app/backfill';
import { ConfigError, OperatorError } from '@app/config';
import { RulesAdminError } from '@app/rules-admin';

/** 0 done (or agreed), 1 reconcile found differences, 2 cannot run, 130 stopped by a signal. */
export enum ExitCode {
  Ok = 0,
  Differences = 1,
  Failed = 2,
  Interrupted = 130,
}

/** The one line to print for an error that stops a command; bugs keep their stack. */
export function describeFailure(e: unknown): string {
  if (e instanceof ConfigError) return e.message.replace(/\n\s*/g, ' ');
  // OperatorError: start-up (StartupError), the direct sources' errors, the commands' own arguments.
  if (e instanceof OperatorError || e instanceof BackfillError || e instanceof RulesAdminError || e instanceof AccessError) return e.message;
  return `unexpected error: ${(e as Error)?.stack ?? String(e)}`;
}
