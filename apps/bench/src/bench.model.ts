import { DomainConfig } from '@app/config';
import { ServerUrls } from './bench.env';
import { ReferenceMappings } from './data/reference-data';
import { ViewDatabase } from './data/view.seeder';

/** What `npm run bench` runs without arguments. */
export const BENCHMARKS = ['ingest', 'reads', 'freshness', 'backfill', 'rules', 'direct'] as const;
/** Run only when named (`npm run bench -- soak --minutes 30`): longer than the whole default run. */
export const ON_REQUEST = ['soak'] as const;
export type BenchName = (typeof BENCHMARKS)[number] | (typeof ON_REQUEST)[number];

export interface Measure {
  value: number;
  unit: string;
}

/** One line of the table: a figure, what it is compared with (measured in the same run), and the aim. */
export interface Figure {
  bench: BenchName;
  name: string;
  value: Measure;
  reference?: { name: string } & Measure;
  /** value ÷ reference value. */
  ratio?: number;
  aim?: { text: string; met: boolean };
}

export interface BenchOutcome {
  figures: Figure[];
  /** Sizes, scale-downs and anything a reader needs to read the figures right. */
  notes: string[];
  /** Raw numbers, kept in the report's data block for later comparisons. */
  data: Record<string, unknown>;
}

export interface BenchContext {
  urls: ServerUrls;
  domain: DomainConfig;
  mappings: ReferenceMappings;
  view: ViewDatabase;
  /** Where workers write CPU profiles when profiling; undefined otherwise. */
  profileDir?: string;
  /** Outcomes of the benchmarks already run in this invocation (freshness reads ingest's maximum). */
  earlier: Partial<Record<BenchName, BenchOutcome>>;
  log(message: string): void;
}

export function ratio(value: number, reference: number): number {
  return reference === 0 ? NaN : value / reference;
}
