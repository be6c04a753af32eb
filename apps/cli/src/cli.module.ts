import { Module } from '@nestjs/common';
import { BackfillCommand } from './commands/backfill.command';
import { DirectCheckpointCommand, DirectCheckpointResetCommand } from './commands/direct-checkpoint.command';
import { DirectSlotCommand, DirectSlotDropCommand } from './commands/direct-slot.command';
import { MigrateCommand } from './commands/migrate.command';
import { ReconcileCommand } from './commands/reconcile.command';
import { VerifyCommand } from './commands/verify.command';
import { RulesCommand, RulesDiffCommand, RulesExportCommand, RulesPublishCommand, RulesValidateCommand } from './commands/rules.command';
import { TokensCommand, TokensCreateCommand, TokensListCommand, TokensRevokeCommand } from './commands/tokens.command';

const RULES_COMMANDS = [RulesCommand, RulesValidateCommand, RulesDiffCommand, RulesPublishCommand, RulesExportCommand];
const TOKENS_COMMANDS = [TokensCommand, TokensCreateCommand, TokensListCommand, TokensRevokeCommand];
import { CliPrinter } from './output/cli.printer';
import { ExitCodePolicy } from './output/exit-code.policy';
import { WorkContextFactory } from './work-context.factory';

/** Commands only: what they need (database, Redis, legacy connections) is opened by each command. */
@Module({ providers: [CliPrinter, ExitCodePolicy, WorkContextFactory, MigrateCommand, BackfillCommand, ReconcileCommand, VerifyCommand, ...RULES_COMMANDS, ...TOKENS_COMMANDS, DirectSlotCommand, DirectSlotDropCommand, DirectCheckpointCommand, DirectCheckpointResetCommand] })
export class CliModule {}
