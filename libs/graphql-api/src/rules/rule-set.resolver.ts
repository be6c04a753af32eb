import { Inject, UseGuards } from '@nestjs/common';
import { Args, Context, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { ApiTokenService, describePrincipal } from '@app/access';
import { RuleSetLifecycleService } from '@app/rules-admin';
import { RequestAuth } from '../auth/request-auth';
import { intArgument, numericIdArgument } from '../errors/graphql-errors';
import { RequiresRole, RolesGuard } from '../auth/roles.guard';
import { GraphqlContext } from '../customers/customer.loaders';
import {
  ApiToken,
  CreatedApiToken,
  ImpactPreview,
  PublishResult,
  Reprojection,
  Role,
  RuleProblem,
  RuleSetAuditEntry,
  RuleSetVersion,
} from '../generated/graphql';
import { toApiToken, toAuditEntry, toGraphqlError, toProblem, toReprojection, toRuleSetVersion } from './rule-set.mapper';

/** Who audits and `createdBy` name: the token's name and its id, as names need not be unique. */
const actor = (auth: RequestAuth): string => (auth.kind === 'token' ? describePrincipal(auth.principal) : 'anonymous');

const MAX_SAMPLE_SIZE = 100;

async function edge<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toGraphqlError(e);
  }
}

@Resolver()
@UseGuards(RolesGuard)
export class RuleSetResolver {
  constructor(
    private readonly admin: RuleSetLifecycleService,
    private readonly tokens: ApiTokenService,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  @Query('ruleSetVersions')
  @RequiresRole('analyst')
  async ruleSetVersions(): Promise<RuleSetVersion[]> {
    return (await this.admin.list()).map(toRuleSetVersion);
  }

  @Query('ruleSetVersion')
  @RequiresRole('analyst')
  async ruleSetVersion(@Args('version', { type: () => Int }) version: number): Promise<RuleSetVersion | null> {
    return (await this.admin.list()).filter((v) => v.version === version).map(toRuleSetVersion)[0] ?? null;
  }

  @Query('activeRuleSet')
  @RequiresRole('viewer')
  async activeRuleSet(): Promise<RuleSetVersion> {
    return toRuleSetVersion(await this.admin.activeVersion());
  }

  @Query('validateRuleSet')
  @RequiresRole('analyst')
  validateRuleSet(@Args('document') document: string): Promise<RuleProblem[]> {
    return edge(async () => (await this.admin.validateText(document)).problems.map(toProblem));
  }

  @Query('ruleSetProblems')
  @RequiresRole('analyst')
  ruleSetProblems(@Args('version', { type: () => Int }) version: number): Promise<RuleProblem[]> {
    return edge(async () => (await this.admin.validateVersion(version)).map(toProblem));
  }

  @Query('ruleSetPreview')
  @RequiresRole('analyst')
  ruleSetPreview(
    @Args('version', { type: () => Int }) version: number,
    @Args('sampleSize', { type: () => Int, nullable: true }) sampleSize: number | null,
  ): Promise<ImpactPreview> {
    const n = intArgument('sampleSize', sampleSize, 5, MAX_SAMPLE_SIZE);
    return edge(() => this.admin.preview(version, n));
  }

  @Query('reprojection')
  @RequiresRole('analyst')
  async reprojection(@Args('id', { type: () => ID, nullable: true }) id: string | null | undefined): Promise<Reprojection | null> {
    const p = await this.admin.reprojectionProgress(id === null || id === undefined ? undefined : numericIdArgument('reprojection(id)', id));
    return p ? toReprojection(p) : null;
  }

  @Query('ruleSetAudit')
  @RequiresRole('analyst')
  async ruleSetAudit(@Args('first', { type: () => Int, nullable: true }) first: number | null): Promise<RuleSetAuditEntry[]> {
    return (await this.admin.audit(intArgument('ruleSetAudit(first)', first, 50, this.env.graphql.maxPage))).map(toAuditEntry);
  }

  @Query('apiTokens')
  @RequiresRole('admin')
  async apiTokens(): Promise<ApiToken[]> {
    return (await this.tokens.list()).map(toApiToken);
  }

  @Mutation('createRuleSetDraft')
  @RequiresRole('analyst')
  createRuleSetDraft(@Args('document') document: string, @Args('comment', { nullable: true }) comment: string | null, @Context() ctx: GraphqlContext): Promise<RuleSetVersion> {
    return edge(async () => toRuleSetVersion(await this.admin.createDraft(await this.admin.readDocument(document), comment ?? '', actor(ctx.auth))));
  }

  @Mutation('updateRuleSetDraft')
  @RequiresRole('analyst')
  updateRuleSetDraft(
    @Args('version', { type: () => Int }) version: number,
    @Args('document') document: string,
    @Args('comment', { nullable: true }) comment: string | null,
    @Args('expectedChecksum', { nullable: true }) expectedChecksum: string | null,
  ): Promise<RuleSetVersion> {
    return edge(async () => toRuleSetVersion(await this.admin.updateDraft(version, await this.admin.readDocument(document), comment ?? null, expectedChecksum ?? null)));
  }

  @Mutation('validateRuleSetDraft')
  @RequiresRole('analyst')
  validateRuleSetDraft(@Args('version', { type: () => Int }) version: number): Promise<RuleProblem[]> {
    return this.ruleSetProblems(version);
  }

  @Mutation('previewRuleSetDraft')
  @RequiresRole('analyst')
  previewRuleSetDraft(
    @Args('version', { type: () => Int }) version: number,
    @Args('sampleSize', { type: () => Int, nullable: true }) sampleSize: number | null,
  ): Promise<ImpactPreview> {
    return this.ruleSetPreview(version, sampleSize);
  }

  @Mutation('publishRuleSet')
  @RequiresRole('analyst')
  publishRuleSet(
    @Args('version', { type: () => Int }) version: number,
    @Args('comment') comment: string,
    @Args('expectedChecksum', { nullable: true }) expectedChecksum: string | null,
    @Context() ctx: GraphqlContext,
  ): Promise<PublishResult> {
    return edge(async () => {
      const r = await this.admin.publish(version, comment, actor(ctx.auth), expectedChecksum ?? null);
      return { fromVersion: r.from, toVersion: r.to, reprojection: toReprojection(r.reprojection) };
    });
  }

  @Mutation('rollbackRuleSet')
  @RequiresRole('analyst')
  rollbackRuleSet(@Args('version', { type: () => Int }) version: number, @Args('comment') comment: string, @Context() ctx: GraphqlContext): Promise<PublishResult> {
    return edge(async () => {
      const r = await this.admin.rollback(version, comment, actor(ctx.auth));
      return { fromVersion: r.from, toVersion: r.to, reprojection: toReprojection(r.reprojection) };
    });
  }

  @Mutation('createApiToken')
  @RequiresRole('admin')
  createApiToken(@Args('name') name: string, @Args('role') role: Role, @Context() ctx: GraphqlContext): Promise<CreatedApiToken> {
    return edge(async () => {
      const { token, info } = await this.tokens.create(name, role.toLowerCase() as 'viewer' | 'analyst' | 'admin', actor(ctx.auth));
      return { token, apiToken: toApiToken(info) };
    });
  }

  @Mutation('revokeApiToken')
  @RequiresRole('admin')
  revokeApiToken(@Args('id', { type: () => ID }) id: string): Promise<boolean> {
    return edge(() => this.tokens.revoke(id));
  }
}
