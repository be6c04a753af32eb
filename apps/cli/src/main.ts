import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { runMain } from '@app/bootstrap';
import { CliModule } from './cli.module';
import { flushOutput } from './output/cli.printer';

// `npm run cli -- <command> --help`. Exit codes: 0 done, 1 reconcile found differences, 2 failed, 130 interrupted.
runMain(async () => {
  await CommandFactory.run(CliModule, {
    logger: ['error'],
    cliName: 'statusview',
  });
  // Connections are closed by the commands; exit even if a driver left a timer behind, but only
  // once what was printed has left (a pipe is written asynchronously).
  await flushOutput();
  process.exit(process.exitCode ?? 0);
});
