import { Inject, Injectable } from '@nestjs/common';
import { normalizeRow } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';
import { SourceRecordRepository } from '@app/projection';
import { CompiledRuleSet, Problem, RuleSet } from '@app/rules';
import { AnalysisResult, RuleSetAnalysisPool } from './rule-set-analysis.pool';

/** The most frequent stored input combinations of each mapping table that are checked. */
const STORED_COMBINATIONS = 1000;

export interface ValidationResult {
  problems: Problem[];
  /** Set when the rule set has no errors. */
  compiled?: CompiledRuleSet;
}

/**
 * Everything an analyst needs to know about a rule set before publishing it: shape and reference
 * errors, unreachable rows, overlaps, gaps, failing examples, and raw values already stored that
 * only a fallback would map. The CPU-bound part runs on the analysis pool (off the event loop of a
 * serving process); the stored values are read here.
 */
@Injectable()
export class RuleSetValidator {
  private readonly known: Record<string, string[]>;

  constructor(
    @Inject(DOMAIN_CONFIG) private readonly domain: DomainConfig,
    private readonly records: SourceRecordRepository,
    private readonly analysis: RuleSetAnalysisPool,
  ) {
    this.known = Object.fromEntries(domain.sources.systems.map((s) => [s.name, Object.keys(s.fields)]));
  }

  /** Validates a document already read (a stored version, a CLI file). */
  async validate(document: unknown, now = Date.now()): Promise<ValidationResult> {
    return this.complete(await this.analysis.run({ document, known: this.known, now }), now);
  }

  /** Validates a document sent as YAML or JSON text; reading it is part of the analysis. */
  async validateText(text: string, now = Date.now()): Promise<ValidationResult & { document: unknown }> {
    const result = await this.analysis.run({ text, known: this.known, now });
    return { document: result.document, ...(await this.complete(result, now)) };
  }

  /** Reads YAML or JSON text into a document (on the analysis pool: a large document takes a while). */
  async read(text: string): Promise<unknown> {
    return (await this.analysis.run({ text, known: this.known, now: Date.now(), parseOnly: true })).document;
  }

  private async complete({ ruleSet, problems }: AnalysisResult, now: number): Promise<ValidationResult> {
    if (!ruleSet) return { problems };
    const compiled = new CompiledRuleSet(ruleSet);
    const all = [...problems, ...(await this.storedValues(ruleSet, compiled, now))];
    const hasErrors = all.some((p) => p.severity === 'error');
    return { problems: sortProblems(all), compiled: hasErrors ? undefined : compiled };
  }

  /** Distinct input combinations of the stored live records that only a fallback row maps. */
  private async storedValues(ruleSet: RuleSet, compiled: CompiledRuleSet, now: number): Promise<Problem[]> {
    const problems: Problem[] = [];
    for (const table of ruleSet.mappings) {
      const fields = this.domain.sources.systems.find((s) => s.name === table.system)?.fields ?? {};
      if (table.inputs.length === 0) continue;
      const inputs = table.inputs.map((i) => i.name);
      const rows = await this.records.inputCombinations(table.system, inputs, STORED_COMBINATIONS);
      const fallbacks = new Set(table.rules.filter((r) => r.fallback).map((r) => r.id));
      for (const r of rows) {
        let rule: string | undefined;
        try {
          rule = compiled.map(table.system, normalizeRow(fields, r.inputs), now).rule;
        } catch {
          rule = undefined;
        }
        if (rule !== undefined && !fallbacks.has(rule)) continue;
        const shown = inputs.map((i) => `${i}=${JSON.stringify(r.inputs[i] ?? null)}`).join(', ');
        problems.push({
          path: `mappings.${table.system}`,
          severity: 'warning',
          message:
            rule === undefined
              ? `${r.count} stored ${table.system} record(s) with ${shown} would match no rule at all`
              : `${r.count} stored ${table.system} record(s) with ${shown} are mapped only by the fallback ${rule}`,
        });
      }
    }
    return problems;
  }
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
