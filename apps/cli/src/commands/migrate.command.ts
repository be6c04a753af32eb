import { Command, CommandRunner } from 'nest-commander';
import { openStatusviewDatabase, unreachable } from '@app/bootstrap';
import { loadEnvConfig } from '@app/config';
import { CliPrinter } from '../output/cli.printer';
import { describeFailure, ExitCode } from './exit-code';

@Command({ name: 'migrate', description: 'Create the statusview database if needed and run its pending migrations' })
export class MigrateCommand extends CommandRunner {
  constructor(private readonly printer: CliPrinter) {
    super();
  }

  async run(): Promise<void> {
    try {
      const env = loadEnvConfig();
      let db;
      try {
        db = await openStatusviewDatabase(env.database.url);
      } catch (e) {
        throw unreachable('PostgreSQL', env.database.url, e);
      }
      const rows: { name: string }[] = await db.query(`SELECT name FROM migrations ORDER BY id`);
      await db.destroy();
      this.printer.out(`migrations applied: ${rows.map((r) => r.name).join(', ')}`);
    } catch (e) {
      this.printer.error(describeFailure(e));
      process.exitCode = ExitCode.Failed;
    }
  }
}
