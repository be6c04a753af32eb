import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../project-root';
import { parse } from 'yaml';
import { CompiledRuleSet, formatPath, ParseOptions, parseRuleSet, Problem, RULE_SET_LIMITS, RuleSet, ruleSetChecksum, runExamples } from '@app/rules';
import { ConfigError } from '../config.errors';
import { SourcesConfig, SourceSystem } from './sources.model';
import { sourcesFileSchema } from './sources.schema';

export interface LoadedRuleSet {
  document: unknown;
  ruleSet: RuleSet;
  compiled: CompiledRuleSet;
  checksum: string;
  warnings: Problem[];
}

export interface DomainConfig {
  sources: SourcesConfig;
  rules: LoadedRuleSet;
}

/** Reads a YAML or JSON file (at most the size of a rule set document); a syntax error names the file, line and column. */
export function readDocument(file: string): unknown {
  if (!existsSync(file)) throw new ConfigError([`${file}: file not found`]);
  const { size } = statSync(file);
  if (size > RULE_SET_LIMITS.documentBytes) throw new ConfigError([`${file}: is ${size} bytes; a configuration file is at most ${RULE_SET_LIMITS.documentBytes}`]);
  const text = readFileSync(file, 'utf8');
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parse(text);
  } catch (e) {
    throw new ConfigError([`${file}: cannot be parsed: ${(e as Error).message.split('\n')[0]}`]);
  }
}

function findFile(dir: string, base: string): string {
  for (const ext of ['.yaml', '.yml', '.json']) {
    const f = join(dir, base + ext);
    if (existsSync(f)) return f;
  }
  return join(dir, `${base}.yaml`);
}

export function parseSources(doc: unknown, file: string): SourcesConfig {
  const parsed = sourcesFileSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${file}: ${formatPath(i.path)}: ${i.message}`));
  }
  const problems: string[] = [];
  const systems: SourceSystem[] = Object.entries(parsed.data.systems).map(([name, s]) => ({ name, ...s }));
  const topics = new Map<string, string>();
  for (const s of systems) {
    const other = topics.get(s.topic);
    if (other) problems.push(`${file}: systems.${s.name}.topic: "${s.topic}" is already the topic of ${other}`);
    topics.set(s.topic, s.name);
  }
  if (problems.length) throw new ConfigError(problems);
  return { customerKey: parsed.data.customerKey, systems };
}

/** The sources document with `changes: direct` for each of `systems`; an unknown name is an error. */
function withDirectSystems(doc: unknown, systems: readonly string[], file: string): unknown {
  if (systems.length === 0) return doc;
  const declared = (doc as { systems?: Record<string, Record<string, unknown>> } | null)?.systems ?? {};
  const unknown = systems.filter((name) => typeof declared[name] !== 'object' || declared[name] === null);
  if (unknown.length > 0) throw new ConfigError(unknown.map((name) => `CDC_DIRECT_SYSTEMS: ${file} has no system ${name}`));
  return { ...(doc as object), systems: Object.fromEntries(Object.entries(declared).map(([name, s]) => [name, systems.includes(name) ? { ...s, changes: 'direct' } : s])) };
}

/**
 * Checks a rule set document against the sources; returns it compiled, or throws with every error.
 * `stored` for a version accepted earlier (see `ParseOptions`).
 */
export function loadRuleSet(doc: unknown, sources: SourcesConfig, file: string, options: ParseOptions = {}): LoadedRuleSet {
  const known = Object.fromEntries(sources.systems.map((s) => [s.name, Object.keys(s.fields)]));
  const { ruleSet, problems } = parseRuleSet(doc, known, options);
  const errors = problems.filter((p) => p.severity === 'error');
  if (!ruleSet || errors.length) throw new ConfigError(errors.map((p) => `${file}: ${p.path}: ${p.message}`));
  const compiled = new CompiledRuleSet(ruleSet);
  const failing = runExamples(compiled, ruleSet);
  if (failing.length) throw new ConfigError(failing.map((p) => `${file}: ${p.path}: ${p.message}`));
  return { document: doc, ruleSet, compiled, checksum: ruleSetChecksum(doc), warnings: problems.filter((p) => p.severity === 'warning') };
}

export interface DomainConfigOptions {
  /** Systems read directly whatever the file says (`CDC_DIRECT_SYSTEMS`). */
  directSystems?: readonly string[];
}

/** Loads `sources` and `rules` (YAML or JSON) from the configuration folder. */
export function loadDomainConfig(configDir: string, options: DomainConfigOptions = {}): DomainConfig {
  const dir = fromRoot(configDir);
  const sourcesFile = findFile(dir, 'sources');
  const rulesFile = findFile(dir, 'rules');
  const sources = parseSources(withDirectSystems(readDocument(sourcesFile), options.directSystems ?? [], sourcesFile), sourcesFile);
  const rules = loadRuleSet(readDocument(rulesFile), sources, rulesFile);
  return { sources, rules };
}
