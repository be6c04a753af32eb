import { OperatorError } from '@app/config';

/** Runs an app's entry point; a configuration or startup problem is printed as clear lines, exit 1. */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((e: unknown) => {
    if (e instanceof OperatorError) process.stderr.write(`statusview: ${e.message}\n`);
    else process.stderr.write(`statusview: failed to start: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
