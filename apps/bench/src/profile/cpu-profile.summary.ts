import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  functions: Array<{ name: string; where: string; ms: number }>;
  categories: Array<{ name: string; ms: number }>;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a frame's code lives: a package, one of our libraries, or Node itself. */
function categoryOf(url: string, name: string): string {
  if (SPECIAL.has(name)) return name;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/dist\/((?:libs|apps)\/[^/]+)\//.exec(url);
  if (ours) return ours[1];
  if (url.startsWith('node:') || url === '') return 'node (internals, natives)';
  return url;
}

function shortUrl(url: string, line: number): string {
  if (!url) return '';
  const cut = url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|dist)\//, '$1/');
  return `${cut}:${line + 1}`;
}

/** Self time per function and per package of one `.cpuprofile`. */
export function summarize(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  const categories = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    const name = functionName || '(anonymous)';
    totalMs += ms;
    if (name === '(idle)') idleMs += ms;
    const where = shortUrl(url, lineNumber);
    const key = `${name}@${where}`;
    const f = functions.get(key) ?? { name, where, ms: 0 };
    f.ms += ms;
    functions.set(key, f);
    const c = categoryOf(url, name);
    categories.set(c, (categories.get(c) ?? 0) + ms);
  }
  return {
    file,
    totalMs,
    busyMs: totalMs - idleMs,
    functions: [...functions.values()].filter((f) => f.name !== '(idle)').sort((a, b) => b.ms - a.ms).slice(0, top),
    categories: [...categories.entries()]
      .filter(([n]) => n !== '(idle)')
      .map(([name, ms]) => ({ name, ms }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12),
  };
}

/** Every profile written under `dir` (one per worker process). */
export function profilesIn(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.cpuprofile')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export function renderSummary(s: ProfileSummary, title: string): string {
  const pct = (ms: number) => `${((ms / s.busyMs) * 100).toFixed(1)}%`;
  return [
    `**${title}**: ${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s sampled.`,
    '',
    'By package (self time, share of busy time): ' + s.categories.map((c) => `${c.name} ${pct(c.ms)}`).join(', ') + '.',
    '',
    '| self time | share | function | where |',
    '|--:|--:|---|---|',
    ...s.functions.map((f) => `| ${f.ms.toFixed(0)} ms | ${pct(f.ms)} | \`${f.name}\` | ${f.where} |`),
  ].join('\n');
}

/** The worker's PostgreSQL and Redis round trips (written beside its profile), as a table. */
export function renderRoundTrips(profileFile: string): string {
  const file = profileFile.replace(/\.cpuprofile$/, '.roundtrips.json');
  if (!existsSync(file)) return '';
  const trips = JSON.parse(readFileSync(file, 'utf8')) as Array<{ what: string; calls: number; totalMs: number; meanMs: number }>;
  if (!trips.length) return '';
  return [
    'Waiting on PostgreSQL and Redis (call to reply, summed; concurrent calls overlap):',
    '',
    '| total | calls | mean | statement or command |',
    '|--:|--:|--:|---|',
    ...trips.map((t) => `| ${t.totalMs.toFixed(0)} ms | ${t.calls} | ${t.meanMs.toFixed(2)} ms | \`${t.what.replace(/\|/g, '\\|').replace(/`/g, "'")}\` |`),
  ].join('\n');
}
