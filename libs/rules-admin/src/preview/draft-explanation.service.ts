import { Inject, Injectable } from '@nestjs/common';
import { normalizeRow } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig, FieldType } from '@app/config';
import { RuleSetRepository } from '@app/projection';
import { CompiledRuleSet, parseRuleSet } from '@app/rules';
import { RulesAdminError } from '../rules-admin.errors';

/** A customer's live record as the explanation needs it. */
export interface ExplainedRecord {
  system: string;
  recordKey: string;
  /** JSON of the stored raw fields. */
  raw: string;
  status: string;
  rule: string;
}

export interface DraftExplanation {
  sources: Array<ExplainedRecord & { description: string; inputs: Array<{ field: string; value: string }> }>;
  resolution: { rule: string; description: string; status: string };
}

/** Compiled versions kept (by version and checksum: a draft changes until it is published). */
const CACHED_VERSIONS = 16;

/**
 * Why a customer would have its status under another stored version (a draft before it is
 * published): its live records mapped again and resolved, as the impact preview and the
 * reprojection do, with the rules that would fire. For the console's impact preview.
 */
@Injectable()
export class DraftExplanationService {
  private readonly fields: Map<string, Record<string, FieldType>>;
  private readonly known: Record<string, string[]>;
  private readonly compiled = new Map<string, CompiledRuleSet>();

  constructor(
    private readonly repository: RuleSetRepository,
    @Inject(DOMAIN_CONFIG) domain: DomainConfig,
  ) {
    this.fields = new Map(domain.sources.systems.map((s) => [s.name, s.fields]));
    this.known = Object.fromEntries(domain.sources.systems.map((s) => [s.name, Object.keys(s.fields)]));
  }

  async explain(version: number, records: readonly ExplainedRecord[], now = Date.now()): Promise<DraftExplanation> {
    const compiled = await this.compile(version);
    const masks = new Int32Array(compiled.systems.length);
    const sources = records.map((r) => {
      const table = compiled.ruleSet.mappings.find((m) => m.system === r.system);
      const raw = JSON.parse(r.raw) as Record<string, unknown>;
      let mapped: { status: string; rule: string } = { status: r.status, rule: r.rule };
      let description = '(kept: no table for this system in this version)';
      if (table) {
        try {
          mapped = compiled.map(r.system, normalizeRow(this.fields.get(r.system) ?? {}, raw), now);
          description = table.rules.find((x) => x.id === mapped.rule)?.description ?? '';
        } catch (e) {
          // As the preview and the reprojection do: an unmappable record keeps its last mapping.
          description = `(kept: ${(e as Error).message})`;
        }
      }
      const s = compiled.systemIndex(r.system);
      if (s !== undefined && compiled.statuses.includes(mapped.status)) masks[s] |= 1 << compiled.statusIndex(mapped.status);
      return {
        ...r,
        status: mapped.status,
        rule: mapped.rule,
        description,
        inputs: (table?.inputs ?? []).map((i) => ({ field: i.name, value: JSON.stringify(raw[i.name] ?? null) })),
      };
    });
    const decided = compiled.resolve(masks);
    const rule = compiled.ruleSet.resolution.rules.find((r) => r.id === decided.reason);
    return { sources, resolution: { rule: decided.reason, description: rule?.description ?? '', status: decided.status } };
  }

  private async compile(version: number): Promise<CompiledRuleSet> {
    const row = await this.repository.get(version);
    if (!row) throw new RulesAdminError('NOT_FOUND', `rule set version ${version} does not exist`);
    const key = `${version}:${row.checksum}`;
    const hit = this.compiled.get(key);
    if (hit) return hit;
    const { ruleSet, problems } = parseRuleSet(row.document, this.known, { stored: true });
    const errors = problems.filter((p) => p.severity === 'error');
    if (!ruleSet || errors.length) throw new RulesAdminError('INVALID_RULE_SET', `rule set version ${version} has ${errors.length} error(s) and cannot explain a customer`, errors);
    const compiled = new CompiledRuleSet(ruleSet);
    if (this.compiled.size >= CACHED_VERSIONS) this.compiled.delete(this.compiled.keys().next().value!);
    this.compiled.set(key, compiled);
    return compiled;
  }
}
