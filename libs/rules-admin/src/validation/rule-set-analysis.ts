import { analyzeRuleSet, CompiledRuleSet, KnownSources, parseRuleSet, Problem, RuleSet, runExamples } from '@app/rules';
import { RulesAdminError, RulesAdminErrorCode } from '../rules-admin.errors';
import { parseRuleSetText } from './rule-set-document';

/** What one analysis is given: the document, as text (parsed there too) or already parsed. */
export interface AnalysisRequest {
  text?: string;
  document?: unknown;
  known: KnownSources;
  /** Evaluation time for relative dates (epoch ms). */
  now: number;
  /** Parse only (a draft being stored): no analysis. */
  parseOnly?: boolean;
}

/** Plain data, so that it crosses a worker thread boundary as is (a RulesAdminError would lose its class). */
export type AnalysisOutcome =
  | { ok: true; document: unknown; ruleSet?: RuleSet; problems: Problem[] }
  | { ok: false; code: RulesAdminErrorCode; message: string; problems: Problem[] };

/**
 * Everything of a validation that needs no database and can take long: reading the YAML or JSON
 * text, the shape and reference checks, the static analysis and the examples. Runs in a worker
 * thread of a serving process (see `RuleSetAnalysisPool`), in the calling thread of the CLI.
 */
export function analyzeDocument(request: AnalysisRequest): AnalysisOutcome {
  try {
    const document = request.text !== undefined ? parseRuleSetText(request.text) : request.document;
    if (request.parseOnly) return { ok: true, document, problems: [] };
    const { ruleSet, problems } = parseRuleSet(document, request.known);
    if (!ruleSet) return { ok: true, document, problems };
    const compiled = new CompiledRuleSet(ruleSet);
    const found = [...problems, ...analyzeRuleSet(ruleSet, { now: request.now }), ...runExamples(compiled, ruleSet, request.now)];
    return { ok: true, document, ruleSet, problems: found };
  } catch (e) {
    if (e instanceof RulesAdminError) return { ok: false, code: e.code, message: e.message, problems: e.problems };
    throw e;
  }
}
