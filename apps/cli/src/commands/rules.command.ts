import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Injectable } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { openConnections } from '@app/bootstrap';
import { describeRuleSetDiff, Problem } from '@app/rules';
import { checkDocumentSize, createRulesAdminContext, parseRuleSetText, RuleSetLifecycleService, RulesAdminError, toYaml } from '@app/rules-admin';
import { CliPrinter } from '../output/cli.printer';
import { WorkContextFactory } from '../work-context.factory';
import { describeFailure, ExitCode } from './exit-code';

interface Flags {
  comment?: string;
  actor?: string;
  version?: number;
  format?: 'text' | 'json';
}

/** A bad flag value: one line, exit 2, before anything connects. */
function badFlag(message: string): never {
  process.stderr.write(`statusview: ${message}\n`);
  process.exit(ExitCode.Failed);
}

const defaultActor = (): string => `cli:${userInfo().username}`;

/** Opens the rules use cases, runs `fn`, closes everything; a failure is one line and exit code 2. */
// Decorated so that TypeScript records the constructor parameters the subcommands inherit.
@Injectable()
abstract class RulesSubCommand extends CommandRunner {
  constructor(
    protected readonly printer: CliPrinter,
    private readonly config: WorkContextFactory,
  ) {
    super();
  }

  protected async withAdmin(fn: (admin: RuleSetLifecycleService) => Promise<number>): Promise<void> {
    let close = async (): Promise<void> => undefined;
    try {
      const { env, domain } = this.config.loadConfig();
      const connections = await openConnections(env);
      const ctx = await createRulesAdminContext({ env, domain, connections });
      close = async () => {
        await ctx.close();
        await connections.close();
      };
      process.exitCode = await fn(ctx.get(RuleSetLifecycleService));
    } catch (e) {
      this.printer.error(describeFailure(e));
      if (e instanceof RulesAdminError) this.printProblems(e.problems);
      process.exitCode = ExitCode.Failed;
    } finally {
      await close();
    }
  }

  /** Reads a rule set file, refusing one larger than a rule set may be before reading it. */
  protected readDocument(file: string): unknown {
    const read = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        throw new RulesAdminError('BAD_DOCUMENT', `${file}: ${(e as Error).message}`);
      }
    };
    checkDocumentSize(read(() => statSync(file).size), file);
    return parseRuleSetText(read(() => readFileSync(file, 'utf8')));
  }

  protected printProblems(problems: Problem[], json = false): void {
    if (json) return this.printer.json(problems);
    for (const p of problems) this.printer.out(`${p.severity.padEnd(7)} ${p.path}: ${p.message}`);
  }

  @Option({ flags: '--format <format>', description: 'text (default) or json' })
  parseFormat(v: string): 'text' | 'json' {
    if (v !== 'text' && v !== 'json') badFlag(`--format must be text or json, not "${v}"`);
    return v;
  }
}

@SubCommand({ name: 'validate', arguments: '<file>', description: 'Validate a rule set file (YAML or JSON): problems with their paths; exit 1 on errors' })
export class RulesValidateCommand extends RulesSubCommand {
  async run([file]: string[], flags: Flags): Promise<void> {
    await this.withAdmin(async (admin) => {
      const { problems } = await admin.validateDocument(this.readDocument(file));
      this.printProblems(problems, flags.format === 'json');
      const errors = problems.filter((p) => p.severity === 'error').length;
      if (flags.format !== 'json') this.printer.notice(`${file}: ${errors} error(s), ${problems.length - errors} warning(s)`);
      return errors > 0 ? 1 : 0;
    });
  }
}

@SubCommand({ name: 'diff', arguments: '<file>', description: 'Compare a rule set file with the active version: rules added, removed, changed, and customers that would move' })
export class RulesDiffCommand extends RulesSubCommand {
  async run([file]: string[], flags: Flags): Promise<void> {
    await this.withAdmin(async (admin) => {
      const next = this.readDocument(file);
      const active = await admin.activeVersion();
      const diff = admin.diffDocuments(active.document, next);
      const changes = describeRuleSetDiff(diff);
      const draft = await admin.createDraft(next, `diff of ${file}`, flags.actor ?? defaultActor());
      const preview = await admin.preview(draft.version).catch((e: unknown) => e);
      if (flags.format === 'json') {
        this.printer.json({ activeVersion: active.version, changes, diff, preview: preview instanceof Error ? { error: preview.message } : preview });
      } else {
        this.printer.out(`against active version ${active.version}:`);
        for (const c of changes) this.printer.out(`  ${c}`);
        if (diff.empty) this.printer.out('  no changes');
        if (preview instanceof Error) this.printer.out(`impact: cannot be previewed: ${preview.message}`);
        else {
          const p = preview as Awaited<ReturnType<RuleSetLifecycleService['preview']>>;
          this.printer.out(`impact: ${p.moving} of ${p.customers} customers would change status`);
          for (const cell of p.cells) this.printer.out(`  ${cell.from} → ${cell.to}: ${cell.count} (e.g. ${cell.sample.join(', ')})`);
        }
      }
      this.printer.notice(`(kept as draft version ${draft.version})`);
      return 0;
    });
  }
}

@SubCommand({ name: 'publish', arguments: '<file>', description: 'Store a rule set file as a new version, validate it, publish it and wait for the reprojection' })
export class RulesPublishCommand extends RulesSubCommand {
  async run([file]: string[], flags: Flags): Promise<void> {
    await this.withAdmin(async (admin) => {
      if (!flags.comment) throw new RulesAdminError('BAD_DOCUMENT', 'rules publish needs --comment "why"');
      const actor = flags.actor ?? defaultActor();
      const draft = await admin.createDraft(this.readDocument(file), flags.comment, actor);
      const result = await admin.publish(draft.version, flags.comment, actor);
      this.printer.notice(`version ${result.to} is active (was ${result.from}); reprojecting ${result.reprojection.total} customers…`);
      const done = await admin.waitForReprojection(result.reprojection.id);
      this.printer.out(`published version ${result.to}: ${done?.processed ?? 0} customers re-evaluated, ${done?.changed ?? 0} changed (${done?.state})`);
      return done?.state === 'done' ? 0 : ExitCode.Failed;
    });
  }

  @Option({ flags: '--comment <comment>', description: 'why (kept in the audit log); required' })
  parseComment(v: string): string {
    return v;
  }

  @Option({ flags: '--actor <name>', description: 'who publishes (default cli:<user>)' })
  parseActor(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'export', description: 'Print a rule set version as YAML (the active one by default)' })
export class RulesExportCommand extends RulesSubCommand {
  async run(_args: string[], flags: Flags): Promise<void> {
    await this.withAdmin(async (admin) => {
      const v = flags.version === undefined ? await admin.activeVersion() : await admin.get(flags.version);
      if (flags.format === 'json') this.printer.json(v.document);
      else process.stdout.write(toYaml(v.document));
      return 0;
    });
  }

  @Option({ flags: '--version <n>', description: 'the version to export' })
  parseVersion(v: string): number {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) badFlag(`--version must be a positive integer, not "${v}"`);
    return n;
  }
}

@Command({
  name: 'rules',
  description: 'Rule sets: validate, diff, publish, export',
  subCommands: [RulesValidateCommand, RulesDiffCommand, RulesPublishCommand, RulesExportCommand],
})
export class RulesCommand extends CommandRunner {
  async run(): Promise<void> {
    process.stderr.write('usage: rules <validate|diff|publish|export> … (see rules --help)\n');
    process.exitCode = ExitCode.Failed;
  }
}
