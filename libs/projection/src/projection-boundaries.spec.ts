import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

/**
 * The projection's face, checked over the sources (tests and libs/testing, the tests' own
 * library, excepted from the SQL rules: they may read tables to assert): only libs/projection holds SQL over its tables,
 * only the owner of another library's table holds SQL over it, a library is imported only through its
 * public entry, and no import runs back up (the libraries' imports form no cycle).
 */
const ROOT = resolve(__dirname, '../../..');
const MIGRATIONS = join(ROOT, 'libs/projection/src/database/migrations');

/**
 * Tables a projection migration creates that another library owns. api_token is created by
 * RuleSetVersions1732500000000, which existing databases have run (so it stays where it is), but
 * libs/access owns it: only that library holds SQL over it.
 */
const NOT_THE_PROJECTIONS = new Map([['api_token', 'libs/access']]);

/** Libraries with tables of their own, created by their own migrations (in these folders). */
const OWN_MIGRATIONS: Record<string, string> = { 'libs/backfill': 'libs/backfill/src/database' };

/** Test support: reads tables to assert what a test saw, as the tests themselves do. */
const TEST_SUPPORT = new Set(['libs/testing']);

interface Source {
  path: string;
  /** `libs/<name>` or `apps/<name>`. */
  unit: string;
  file: ts.SourceFile;
}

function sources(): Source[] {
  const out: Source[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!['node_modules', 'dist', 'test', 'generated'].includes(e.name)) walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts')) {
        const rel = relative(ROOT, p).split(sep).join('/');
        out.push({ path: rel, unit: rel.split('/').slice(0, 2).join('/'), file: ts.createSourceFile(p, readFileSync(p, 'utf8'), ts.ScriptTarget.ES2022, true) });
      }
    }
  };
  for (const top of ['libs', 'apps']) for (const e of readdirSync(join(ROOT, top), { withFileTypes: true })) if (e.isDirectory()) walk(join(ROOT, top, e.name));
  return out;
}

function visit(node: ts.Node, fn: (n: ts.Node) => void): void {
  fn(node);
  node.forEachChild((c) => visit(c, fn));
}

/** The module specifiers of a file's imports and re-exports (static and dynamic). */
function specifiers(file: ts.SourceFile): string[] {
  const out: string[] = [];
  visit(file, (n) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push(n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
      const [arg] = n.arguments;
      if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
    }
  });
  return out;
}

/** The text of every string and template literal piece: where SQL is. */
function literals(file: ts.SourceFile): string[] {
  const out: string[] = [];
  visit(file, (n) => {
    if (ts.isStringLiteralLike(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) out.push(n.text);
  });
  return out;
}

function createdTables(dir: string): string[] {
  const tables = new Set<string>();
  for (const f of readdirSync(dir)) for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/CREATE TABLE (\w+)/g)) tables.add(m[1]);
  return [...tables];
}

function projectionTables(): string[] {
  return createdTables(MIGRATIONS)
    .filter((t) => !NOT_THE_PROJECTIONS.has(t))
    .sort();
}

/** Every other library's table → the library that owns it. */
function otherOwners(): Map<string, string> {
  const owners = new Map(NOT_THE_PROJECTIONS);
  for (const [unit, dir] of Object.entries(OWN_MIGRATIONS)) for (const t of createdTables(join(ROOT, dir))) owners.set(t, unit);
  return owners;
}

/** `path: FROM table` for each literal of these sources with SQL over one of these tables. */
function sqlOver(sources: Source[], tables: string[]): string[] {
  const sql = new RegExp(`\\b(FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|ANALYZE|COPY)\\s+(ONLY\\s+)?(${tables.join('|')})\\b`, 'i');
  return sources.flatMap((s) => literals(s.file).filter((l) => sql.test(l)).map((l) => `${s.path}: ${sql.exec(l)?.[0]}`));
}

/** Which unit (`libs/x`) a module specifier of `from` lands in, or null for a package. */
function target(from: Source, spec: string): string | null {
  if (spec.startsWith('@app/')) return `libs/${spec.slice('@app/'.length).split('/')[0]}`;
  if (!spec.startsWith('.')) return null;
  return relative(ROOT, resolve(dirname(join(ROOT, from.path)), spec)).split(sep).slice(0, 2).join('/');
}

describe('library boundaries', () => {
  const all = sources();

  it('finds the sources and the projection tables it checks', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(projectionTables()).toEqual(expect.arrayContaining(['customer', 'source_record', 'source_truncate', 'status_history', 'status_outbox', 'rule_set_version']));
  });

  it('keeps SQL over the projection tables in libs/projection', () => {
    const outside = sqlOver(
      all.filter((s) => s.unit !== 'libs/projection' && !TEST_SUPPORT.has(s.unit)),
      projectionTables(),
    );
    expect(outside).toEqual([]);
  });

  it("keeps SQL over another library's tables in that library (api_token in libs/access, reconcile_report in libs/backfill)", () => {
    const owners = otherOwners();
    expect(owners).toEqual(new Map([['api_token', 'libs/access'], ['backfill_checkpoint', 'libs/backfill'], ['reconcile_report', 'libs/backfill']]));
    // The projection's migration that creates api_token is the one place besides its owner.
    const creator = (s: Source) => join(ROOT, s.path).startsWith(MIGRATIONS + sep);
    const outside = [...owners].flatMap(([table, owner]) =>
      sqlOver(
        all.filter((s) => s.unit !== owner && !TEST_SUPPORT.has(s.unit) && !(NOT_THE_PROJECTIONS.has(table) && creator(s))),
        [table],
      ),
    );
    expect(outside).toEqual([]);
  });

  it('imports a library only through its public entry', () => {
    const deep = all.flatMap((s) =>
      specifiers(s.file)
        .filter((spec) => (spec.startsWith('@app/') && spec.split('/').length > 2) || (spec.startsWith('.') && target(s, spec) !== s.unit))
        .map((spec) => `${s.path}: ${spec}`),
    );
    expect(deep).toEqual([]);
  });

  it('has no import that runs back up: libraries never import apps, nor each other in a cycle', () => {
    const edges = new Map<string, Set<string>>();
    const intoApps: string[] = [];
    for (const s of all) {
      if (!s.unit.startsWith('libs/')) continue;
      for (const spec of specifiers(s.file)) {
        const to = target(s, spec);
        if (!to || to === s.unit) continue;
        if (to.startsWith('apps/')) intoApps.push(`${s.path}: ${spec}`);
        else (edges.get(s.unit) ?? edges.set(s.unit, new Set()).get(s.unit)!).add(to);
      }
    }
    expect(intoApps).toEqual([]);
    // Every path that comes back to where it started, as `a → b → a`.
    const cycles: string[] = [];
    const walk = (path: string[]): void => {
      for (const next of edges.get(path[path.length - 1]) ?? []) {
        if (next === path[0]) cycles.push([...path, next].join(' → '));
        else if (!path.includes(next) && next > path[0]) walk([...path, next]);
      }
    };
    for (const unit of [...edges.keys()].sort()) walk([unit]);
    expect(cycles).toEqual([]);
  });
});
