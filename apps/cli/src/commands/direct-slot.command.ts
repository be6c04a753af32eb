import { Command, CommandRunner, SubCommand } from 'nest-commander';
import { ReplicationSlotAdmin } from '@app/cdc';
import { CliPrinter } from '../output/cli.printer';
import { WorkContextFactory } from '../work-context.factory';
import { describeFailure, ExitCode } from './exit-code';

@SubCommand({
  name: 'drop',
  arguments: '<system>',
  description:
    "Drop the replication slot and publication of a system read directly from PostgreSQL (on its legacy database): the WAL it held is freed; the next start creates them again and streams from then on (load what was missed with backfill)",
})
export class DirectSlotDropCommand extends CommandRunner {
  constructor(
    private readonly printer: CliPrinter,
    private readonly config: WorkContextFactory,
  ) {
    super();
  }

  async run([name]: string[]): Promise<void> {
    try {
      const { env, domain } = this.config.loadConfig();
      const system = domain.sources.systems.find((s) => s.name === name);
      if (!system) throw new Error(`no system "${name}" in sources.yaml (there are: ${domain.sources.systems.map((s) => s.name).join(', ')})`);
      if (system.connection?.dialect !== 'postgres') throw new Error(`system ${name} is not a PostgreSQL database: it has no replication slot`);
      const url = process.env[system.connection.urlEnv];
      if (!url) throw new Error(`${system.connection.urlEnv} (the connection URL of system ${name}) is not set`);
      const admin = await ReplicationSlotAdmin.open(url, system, env.directPg.slotPrefix);
      try {
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
