import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { openConnections } from '@app/bootstrap';
import { binlogReaders, snapshotLoadingCheckpoint } from '@app/cdc';
import { OperatorError } from '@app/config';
import { SourceCheckpointStore } from '@app/projection';
import { CliPrinter } from '../output/cli.printer';
import { WorkContextFactory } from '../work-context.factory';
import { directSystem } from './direct-system';
import { describeFailure, ExitCode } from './exit-code';

@SubCommand({
  name: 'reset',
  arguments: '<system>',
  description:
    'Make the next start of a system read directly from a MySQL/MariaDB binlog load its table again, in a consistent snapshot, and stream from that snapshot (the way out of BINLOG_PURGED): ' +
    "run it with the service stopped, then start the service; the view ends equal to the table (the changes in the lost binlog are not in the customers' history)",
})
export class DirectCheckpointResetCommand extends CommandRunner {
  constructor(
    private readonly printer: CliPrinter,
    private readonly config: WorkContextFactory,
  ) {
    super();
  }

  @Option({ flags: '--force', description: 'reset even while the binlog is read with the same user (a reader that is not statusview)' })
  parseForce(): boolean {
    return true;
  }

  async run([name]: string[], options: { force?: boolean } = {}): Promise<void> {
    try {
      const { env, domain } = this.config.loadConfig();
      const { system, url } = directSystem(domain, name, 'mysql', { postgres: 'its position is its replication slot (see direct-slot drop)' });
      const readers = await binlogReaders(url);
      if (readers.length > 0 && !options.force) {
        throw new OperatorError(
          `the binlog is being read with this user now (${readers.join('; ')}): a running service would write its checkpoint over the reset. ` +
            `Stop the service that reads ${name} first, or add --force if that reader is not statusview`,
        );
      }
      const checkpoint = snapshotLoadingCheckpoint(name, 'asked by direct-checkpoint reset');
      const connections = await openConnections(env);
      try {
        const before = await new SourceCheckpointStore(connections.dataSource).replace(checkpoint);
        this.printer.out(`checkpoint of ${name}: ${before ? before.position.text : 'none'} → ${checkpoint.position.text}`);
        this.printer.out(
          `next: start the service: it loads ${system.table} in a consistent snapshot and streams from that snapshot's binlog position; records the table no longer holds are deleted ` +
            `(a table without consistent snapshots, MyISAM or MySQL without RELOAD, streams from the binlog's end instead, and the log says to run the backfill)`,
        );
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
