import { Module } from '@nestjs/common';
import { BackfillCommand } from './commands/backfill.command';
import { MigrateCommand } from './commands/migrate.command';
import { ReconcileCommand } from './commands/reconcile.command';
import { CliPrinter } from './output/cli.printer';
import { ExitCodePolicy } from './output/exit-code.policy';
import { WorkContextFactory } from './work-context.factory';

/** Commands only: what they need (database, Redis, legacy connections) is opened by each command. */
@Module({ providers: [CliPrinter, ExitCodePolicy, WorkContextFactory, MigrateCommand, BackfillCommand, ReconcileCommand] })
export class CliModule {}
