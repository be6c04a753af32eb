import { GraphQLError } from 'graphql';
import { AuditRow, ReprojectionProgress } from '@app/projection';
import { Problem } from '@app/rules';
import { AccessError, ApiTokenInfo } from '@app/access';
import { RuleSetVersionInfo, RulesAdminError, toYaml } from '@app/rules-admin';
import {
  ApiToken,
  Reprojection,
  ReprojectionState,
  Role,
  RuleProblem,
  RuleSetAuditEntry,
  RuleSetState,
  RuleSetVersion,
  Severity,
} from '../generated/graphql';

export function toRuleSetVersion(v: RuleSetVersionInfo): RuleSetVersion {
  return {
    version: v.version,
    state: v.status === 'active' ? RuleSetState.ACTIVE : v.status === 'draft' ? RuleSetState.DRAFT : RuleSetState.RETIRED,
    checksum: v.checksum,
    comment: v.comment,
    createdBy: v.created_by,
    createdAt: v.created_at.toISOString(),
    updatedAt: v.updated_at.toISOString(),
    publishedAt: v.published_at?.toISOString() ?? null,
    publishedBy: v.published_by,
    document: toYaml(v.document),
  };
}

export function toProblem(p: Problem): RuleProblem {
  return { path: p.path, message: p.message, severity: p.severity === 'error' ? Severity.ERROR : Severity.WARNING };
}

export function toReprojection(r: ReprojectionProgress): Reprojection {
  return { ...r, state: r.state.toUpperCase() as ReprojectionState };
}

export function toAuditEntry(a: AuditRow): RuleSetAuditEntry {
  return { action: a.action, fromVersion: a.from_version, toVersion: a.to_version, actor: a.actor, comment: a.comment, at: a.at.toISOString() };
}

export function toApiToken(t: ApiTokenInfo): ApiToken {
  return { ...t, role: t.role.toUpperCase() as Role };
}

/** The edge's translation of the rules and access libraries' errors into GraphQL errors with codes. */
export function toGraphqlError(e: unknown): unknown {
  if (e instanceof AccessError) {
    switch (e.code) {
      case 'BAD_INPUT':
        return new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT' } });
    }
  }
  if (!(e instanceof RulesAdminError)) return e;
  switch (e.code) {
    case 'NOT_FOUND':
      return new GraphQLError(e.message, { extensions: { code: 'NOT_FOUND' } });
    case 'NOT_A_DRAFT':
      return new GraphQLError(e.message, { extensions: { code: 'NOT_A_DRAFT' } });
    case 'DRAFT_CHANGED':
      return new GraphQLError(e.message, { extensions: { code: 'DRAFT_CHANGED' } });
    case 'BAD_DOCUMENT':
      return new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT', problems: e.problems.map(toProblem) } });
    case 'INVALID_RULE_SET':
      return new GraphQLError(e.message, { extensions: { code: 'INVALID_RULE_SET', problems: e.problems.map(toProblem) } });
    case 'ANALYSIS_UNAVAILABLE':
      return new GraphQLError(e.message, { extensions: { code: 'ANALYSIS_UNAVAILABLE' } });
  }
}
