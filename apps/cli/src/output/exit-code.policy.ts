import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Command, CommanderError } from 'commander';
import { InjectCommander } from 'nest-commander';

/**
 * commander exits 1 on a bad option, which here means "reconcile found differences". Every
 * command (nest-commander sets the override on the root only, after the subcommands exist) exits
 * 2 on a usage error instead, and 0 after printing help.
 */
@Injectable()
export class ExitCodePolicy implements OnApplicationBootstrap {
  constructor(@InjectCommander() private readonly program: Command) {}

  onApplicationBootstrap(): void {
    const exit = (e: CommanderError) => process.exit(e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2);
    this.program.name('statusview');
    this.program.exitOverride(exit);
    for (const command of this.program.commands) command.exitOverride(exit);
  }
}
