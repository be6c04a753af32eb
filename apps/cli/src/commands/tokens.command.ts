import { userInfo } from 'node:os';
import { Injectable } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ApiTokenService, createAccessContext, Role, ROLES } from '@app/access';
import { openConnections } from '@app/bootstrap';
import { CliPrinter } from '../output/cli.printer';
import { WorkContextFactory } from '../work-context.factory';
import { describeFailure, ExitCode } from './exit-code';

// Decorated so that TypeScript records the constructor parameters the subcommands inherit.
@Injectable()
abstract class TokensSubCommand extends CommandRunner {
  constructor(
    protected readonly printer: CliPrinter,
    private readonly config: WorkContextFactory,
  ) {
    super();
  }

  protected async withTokens(fn: (tokens: ApiTokenService) => Promise<number>): Promise<void> {
    let close = async (): Promise<void> => undefined;
    try {
      const { env } = this.config.loadConfig();
      const connections = await openConnections(env);
      const ctx = await createAccessContext({ connections });
      close = async () => {
        await ctx.close();
        await connections.close();
      };
      process.exitCode = await fn(ctx.get(ApiTokenService));
    } catch (e) {
      this.printer.error(describeFailure(e));
      process.exitCode = ExitCode.Failed;
    } finally {
      await close();
    }
  }
}

@SubCommand({ name: 'create', description: 'Create an API token (the first admin token comes from here); prints it once' })
export class TokensCreateCommand extends TokensSubCommand {
  async run(_args: string[], flags: { name?: string; role?: Role }): Promise<void> {
    await this.withTokens(async (tokens) => {
      if (!flags.name || !flags.role || !ROLES.includes(flags.role)) {
        this.printer.error(`tokens create needs --name <name> and --role <${ROLES.join('|')}>${flags.role ? `; --role must be one of ${ROLES.join(', ')}, not "${flags.role}"` : ''}`);
        return ExitCode.Failed;
      }
      const { token, info } = await tokens.create(flags.name, flags.role, `cli:${userInfo().username}`);
      this.printer.notice(`token ${info.id} "${info.name}" with role ${info.role}; it is shown once, store it now:`);
      this.printer.out(token);
      return 0;
    });
  }

  @Option({ flags: '--name <name>', description: 'who or what uses the token' })
  parseName(v: string): string {
    return v;
  }

  @Option({ flags: '--role <role>', description: 'viewer, analyst or admin' })
  parseRole(v: string): Role {
    return v as Role;
  }
}

@SubCommand({ name: 'list', description: 'List API tokens (never the tokens themselves)' })
export class TokensListCommand extends TokensSubCommand {
  async run(): Promise<void> {
    await this.withTokens(async (tokens) => {
      for (const t of await tokens.list()) this.printer.out(`${t.id}\t${t.role}\t${t.name}\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}`);
      return 0;
    });
  }
}

@SubCommand({ name: 'revoke', arguments: '<id>', description: 'Revoke an API token' })
export class TokensRevokeCommand extends TokensSubCommand {
  async run([id]: string[]): Promise<void> {
    await this.withTokens(async (tokens) => {
      const done = await tokens.revoke(id);
      if (!done) this.printer.error(`no active token with id ${id}`);
      return done ? 0 : ExitCode.Failed;
    });
  }
}

@Command({ name: 'tokens', description: 'API tokens: create, list, revoke', subCommands: [TokensCreateCommand, TokensListCommand, TokensRevokeCommand] })
export class TokensCommand extends CommandRunner {
  async run(): Promise<void> {
    process.stderr.write('usage: tokens <create|list|revoke> … (see tokens --help)\n');
    process.exitCode = ExitCode.Failed;
  }
}
