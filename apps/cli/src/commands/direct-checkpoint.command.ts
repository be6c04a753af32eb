import { Command, CommandRunner, SubCommand } from 'nest-commander';
import { openConnections } from '@app/bootstrap';
import { binlogEndCheckpoint } from '@app/cdc';
import { OperatorError, redactUrl } from '@app/config';
import { SourceCheckpointStore } from '@app/projection';
import { CliPrinter } from '../output/cli.printer';
import { WorkContextFactory } from '../work-context.factory';
import { describeFailure, ExitCode } from './exit-code';

@SubCommand({
  name: 'reset',
  arguments: '<system>',
  description:
    "Move the checkpoint of a system read directly from a MySQL/MariaDB binlog to the server's binlog end now (the way out of BINLOG_PURGED): run it with the service stopped, then backfill the system, then start the service",
})
export class DirectCheckpointResetCommand extends CommandRunner {
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
      if (!system) throw new OperatorError(`no system "${name}" in sources.yaml (there are: ${domain.sources.systems.map((s) => s.name).join(', ')})`);
      if (system.connection?.dialect !== 'mysql') {
        throw new OperatorError(`system ${name} is not a MySQL/MariaDB database: ${system.connection?.dialect === 'postgres' ? 'its position is its replication slot (see direct-slot drop)' : 'it has no binlog checkpoint'}`);
      }
      const url = process.env[system.connection.urlEnv];
      if (!url) throw new OperatorError(`${system.connection.urlEnv} (the connection URL of system ${name}) is not set`);
      const checkpoint = await binlogEndCheckpoint(url, name, `systems.${name}: MySQL binlog at ${redactUrl(url)}`);
      const connections = await openConnections(env);
      try {
        const before = await new SourceCheckpointStore(connections.dataSource).replace(checkpoint);
        this.printer.out(`checkpoint of ${name}: ${before ? before.position.text : 'none'} → ${checkpoint.position.text} (the binlog's end${checkpoint.gtid ? `, gtid ${checkpoint.gtid}` : ''})`);
        this.printer.out(`next: npm run cli -- backfill --system ${name} (rows changed before this point), then start the service: it streams from here`);
      } finally {
        await connections.close();
      }
      process.exitCode = ExitCode.Ok;
    } catch (e) {
      this.printer.error(describeFailure(e));
      process.exitCode = ExitCode.Failed;
    }
  }
}

@Command({ name: 'direct-checkpoint', description: 'Checkpoints of the systems read directly from a MySQL/MariaDB binlog: reset', subCommands: [DirectCheckpointResetCommand] })
export class DirectCheckpointCommand extends CommandRunner {
  async run(): Promise<void> {
    process.stderr.write('usage: direct-checkpoint reset <system> (see direct-checkpoint --help)\n');
    process.exitCode = ExitCode.Failed;
  }
}
