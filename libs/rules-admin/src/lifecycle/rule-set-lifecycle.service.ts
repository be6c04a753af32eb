import { Injectable } from '@nestjs/common';
import {
  ActiveRuleSet,
  AuditRow,
  ReprojectionProgress,
  ReprojectionService,
  RuleSetRepository,
  RuleSetSyncService,
  RuleSetVersionRow,
} from '@app/projection';
import { backgroundFailed } from '@app/observability';
import { diffRuleSets, Problem, RuleSetDiff, ruleSetChecksum } from '@app/rules';
import { ImpactPreview, ImpactPreviewService } from '../preview/impact-preview.service';
import { RulesAdminError } from '../rules-admin.errors';
import { RuleSetValidator } from '../validation/rule-set.validator';

export type RuleSetState = 'draft' | 'active' | 'retired';

/** Characters of a draft's, publish's or rollback's comment (kept in the versions and the audit log). */
export const MAX_COMMENT_LENGTH = 1_000;

function checkComment(comment: string | null | undefined): void {
  if (comment != null && comment.length > MAX_COMMENT_LENGTH) {
    throw new RulesAdminError('BAD_DOCUMENT', `a comment is at most ${MAX_COMMENT_LENGTH} characters; this one is ${comment.length}`);
  }
}

export interface RuleSetVersionInfo extends RuleSetVersionRow {
  status: RuleSetState;
}

export interface PublishResult {
  from: number;
  to: number;
  reprojection: ReprojectionProgress;
}

/**
 * The rule set's lifecycle, the one service GraphQL, the CLI and the console use: drafts,
 * validation, impact preview, diff, publish and roll back (validated, switched atomically,
 * announced), and the reprojection that follows.
 */
@Injectable()
export class RuleSetLifecycleService {
  constructor(
    private readonly repository: RuleSetRepository,
    private readonly validator: RuleSetValidator,
    private readonly previewer: ImpactPreviewService,
    private readonly reprojection: ReprojectionService,
    private readonly active: ActiveRuleSet,
    private readonly sync: RuleSetSyncService,
  ) {}

  async list(): Promise<RuleSetVersionInfo[]> {
    const [rows, active] = await Promise.all([this.repository.list(), this.repository.activeVersion()]);
    return rows.map((r) => withStatus(r, active));
  }

  async get(version: number): Promise<RuleSetVersionInfo> {
    const [row, active] = await Promise.all([this.repository.get(version), this.repository.activeVersion()]);
    if (!row) throw new RulesAdminError('NOT_FOUND', `rule set version ${version} does not exist`);
    return withStatus(row, active);
  }

  async activeVersion(): Promise<RuleSetVersionInfo> {
    return this.get(await this.repository.activeVersion());
  }

  async createDraft(document: unknown, comment: string, actor: string): Promise<RuleSetVersionInfo> {
    checkComment(comment);
    const row = await this.repository.createDraft(document, ruleSetChecksum(document), comment, actor);
    return withStatus(row, await this.repository.activeVersion());
  }

  /** `expectedChecksum`: the draft as the caller last saw it; another document saved since is DRAFT_CHANGED. */
  async updateDraft(version: number, document: unknown, comment: string | null, expectedChecksum: string | null = null): Promise<RuleSetVersionInfo> {
    checkComment(comment);
    checkChecksum(expectedChecksum);
    const row = await this.repository.updateDraft(version, document, ruleSetChecksum(document), comment, expectedChecksum);
    if (!row) {
      const stored = await this.get(version);
      if (stored.state !== 'draft') throw new RulesAdminError('NOT_A_DRAFT', `rule set version ${version} is published and cannot change; create a new draft`);
      throw draftChanged(stored, 'you loaded it', 'written');
    }
    return withStatus(row, await this.repository.activeVersion());
  }

  validateDocument(document: unknown): Promise<{ problems: Problem[] }> {
    return this.validator.validate(document);
  }

  /** Validates YAML or JSON text (read off the event loop, like the analysis). */
  async validateText(text: string): Promise<{ problems: Problem[] }> {
    return { problems: (await this.validator.validateText(text)).problems };
  }

  /** Reads YAML or JSON text into a document, e.g. for a draft (off the event loop). */
  readDocument(text: string): Promise<unknown> {
    return this.validator.read(text);
  }

  async validateVersion(version: number): Promise<Problem[]> {
    return (await this.validator.validate((await this.get(version)).document)).problems;
  }

  async preview(version: number, sampleSize = 5): Promise<ImpactPreview & { version: number; activeVersion: number }> {
    const row = await this.get(version);
    const { compiled, problems } = await this.validator.validate(row.document);
    if (!compiled) throw invalid(version, problems);
    const activeVersion = await this.repository.activeVersion();
    return { version, activeVersion, ...(await this.previewer.preview(compiled, sampleSize)) };
  }

  /** Validates (a failing example or any error blocks it), switches atomically, then reprojects in the background. */
  /** `expectedChecksum`: the document as the caller previewed it; a draft saved since is DRAFT_CHANGED, and nothing is published. */
  async publish(version: number, comment: string, actor: string, expectedChecksum: string | null = null): Promise<PublishResult> {
    checkChecksum(expectedChecksum);
    return this.activate(version, comment, actor, 'publish', expectedChecksum);
  }

  /** Publishes an older version again, with the same guarantees. */
  async rollback(version: number, comment: string, actor: string): Promise<PublishResult> {
    const row = await this.get(version);
    if (row.state === 'draft') throw new RulesAdminError('NOT_FOUND', `version ${version} was never published; publish it instead of rolling back to it`);
    return this.activate(version, comment, actor, 'rollback');
  }

  audit(limit?: number): Promise<AuditRow[]> {
    return this.repository.audit(limit);
  }

  reprojectionProgress(id?: string): Promise<ReprojectionProgress | null> {
    return this.reprojection.progress(id);
  }

  /** Waits for a reprojection this process started (a publish from the CLI) and returns how it ended. */
  async waitForReprojection(id: string): Promise<ReprojectionProgress | null> {
    await this.reprojection.wait(id);
    return this.reprojection.progress(id);
  }

  // --- The console's history: what changed between two versions (also `rules diff` in the CLI).

  /** Rule by rule, from one stored version to another. */
  async diff(from: number, to: number): Promise<RuleSetDiff & { from: number; to: number }> {
    const [a, b] = await Promise.all([this.get(from), this.get(to)]);
    return { from, to, ...diffRuleSets(a.document, b.document) };
  }

  diffDocuments(before: unknown, after: unknown): RuleSetDiff {
    return diffRuleSets(before, after);
  }

  private async activate(version: number, comment: string, actor: string, action: 'publish' | 'rollback', expectedChecksum: string | null = null): Promise<PublishResult> {
    if (!comment.trim()) throw new RulesAdminError('BAD_DOCUMENT', 'a publish or rollback needs a comment');
    checkComment(comment);
    const row = await this.get(version);
    if (expectedChecksum !== null && row.checksum !== expectedChecksum) throw draftChanged(row, 'you previewed it', 'published');
    const { compiled, problems } = await this.validator.validate(row.document);
    if (!compiled) throw invalid(version, problems);
    // Only the document validated here goes active: one saved into the draft meanwhile is not.
    const switched = await this.repository.activate(version, actor, action, comment, row.checksum);
    if (!switched) throw draftChanged(await this.get(version), 'it was validated for this publish', 'published');
    const { from, to } = switched;
    await this.active.ensure(to);
    // The other instances poll the active row too, within 5 s: a failed announcement only delays them.
    await this.sync.announce(to).catch((e: unknown) => backgroundFailed('rule-set-announce', e, `cannot announce rule set version ${to}`));
    const reprojection = await this.reprojection.start(to);
    return { from, to, reprojection };
  }
}

function checkChecksum(checksum: string | null): void {
  if (checksum !== null && checksum.length > 128) throw new RulesAdminError('BAD_DOCUMENT', 'expectedChecksum is longer than a checksum (128 characters at most)');
}

function draftChanged(stored: RuleSetVersionRow, since: string, nothing: string): RulesAdminError {
  return new RulesAdminError(
    'DRAFT_CHANGED',
    `draft version ${stored.version} was saved by someone else since ${since} (at ${stored.updated_at.toISOString()}, checksum ${stored.checksum.slice(0, 12)}…); ` +
      `nothing was ${nothing}: reload it to see that version${nothing === 'written' ? ', and make your change again' : ''}`,
  );
}

function withStatus(row: RuleSetVersionRow, active: number): RuleSetVersionInfo {
  return { ...row, status: row.version === active ? 'active' : row.state === 'draft' ? 'draft' : 'retired' };
}

function invalid(version: number, problems: Problem[]): RulesAdminError {
  const errors = problems.filter((p) => p.severity === 'error');
  return new RulesAdminError(
    'INVALID_RULE_SET',
    `rule set version ${version} has ${errors.length} error(s) and cannot be published: ${errors
      .slice(0, 3)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ')}`,
    problems,
  );
}
