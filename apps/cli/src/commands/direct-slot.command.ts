import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ReplicationSlotAdmin } from '@app/cdc';
import { OperatorError } from '@app/config';
import { CliPrinter } from '../output/cli.printer';
import { WorkContextFactory } from '../work-context.factory';
import { directSystem } from './direct-system';
import { describeFailure, ExitCode } from './exit-code';

@SubCommand({
  name: 'drop',
  arguments: '<system>',
  description:
    'Drop the replication slot and publication of a system read directly from PostgreSQL (on its legacy database): the WAL it held is freed. ' +
    "The next start creates them again and loads the table in the new slot's snapshot: the view ends equal to the table, the changes made meanwhile are not in the customers' history. " +
    'A slot in use (a running service streams from it) is refused unless --force.',
})
export class DirectSlotDropCommand extends CommandRunner {
  constructor(
    private readonly printer: CliPrinter,
    private readonly config: WorkContextFactory,
  ) {
    super();
  }

  @Option({ flags: '--force', description: 'drop the slot even while a service streams from it (that service then creates it again and loads the table)' })
  parseForce(): boolean {
    return true;
  }

  async run([name]: string[], options: { force?: boolean } = {}): Promise<void> {
    try {
      const { env, domain } = this.config.loadConfig();
      const { system, url } = directSystem(domain, name, 'postgres', { mysql: 'it has no replication slot (its binlog position: direct-checkpoint reset)' });
      if (system.changes !== 'direct') this.printer.out(`note: system ${name} is read through Debezium in this configuration; dropping what is left of reading it directly`);
      const admin = await ReplicationSlotAdmin.open(url, system, env.directPg.slotPrefix);
      try {
        const user = await admin.activeUser();
        if (user && !options.force) {
          throw new OperatorError(
            `slot ${admin.slot} is in use by ${user} (a running statusview streams from it): stop that service first, or add --force ` +
              `(it then creates the slot again and loads the table; the changes in between are not in the history)`,
          );
        }
        const dropped = await admin.drop();
        this.printer.out(`slot ${admin.slot}: ${dropped.slot ? 'dropped' : 'did not exist'}`);
        this.printer.out(`publication ${admin.publication}: ${dropped.publication ? 'dropped' : 'did not exist'}`);
      } finally {
        await admin.close();
      }
      process.exitCode = ExitCode.Ok;
    } catch (e) {
      this.printer.error(describeFailure(e));
      process.exitCode = ExitCode.Failed;
    }
  }
}

@Command({ name: 'direct-slot', description: 'Replication slots of the systems read directly from PostgreSQL: drop', subCommands: [DirectSlotDropCommand] })
export class DirectSlotCommand extends CommandRunner {
  async run(): Promise<void> {
    process.stderr.write('usage: direct-slot drop <system> (see direct-slot --help)\n');
    process.exitCode = ExitCode.Failed;
  }
}
