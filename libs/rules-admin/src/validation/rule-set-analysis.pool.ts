import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { ENV_CONFIG, EnvConfig, fromRoot } from '@app/config';
import { RulesAdminError } from '../rules-admin.errors';
import { analyzeDocument, AnalysisOutcome, AnalysisRequest } from './rule-set-analysis';

/** A worker's heap: a rule set within the limits needs a fraction of it; past it the worker stops, not the process. */
const WORKER_HEAP_MB = 256;
const IDLE_MS = 60_000;

export type AnalysisResult = Extract<AnalysisOutcome, { ok: true }>;

/**
 * Runs rule set analyses (YAML parsing, checks, static analysis, examples: up to a second or two
 * of CPU for a large rule set) on worker threads, so that a serving process keeps answering
 * `/health/live`, GraphQL and the consumer meanwhile. `RULES_ANALYSIS_THREADS` threads (at a lower
 * scheduling priority than the event loop), at most `RULES_ANALYSIS_QUEUE` waiting, each stopped
 * after `RULES_ANALYSIS_TIMEOUT_MS`. With 0 threads (the CLI) the analysis runs in the calling thread.
 */
@Injectable()
export class RuleSetAnalysisPool implements OnModuleDestroy {
  private readonly pool?: Piscina<AnalysisRequest, AnalysisOutcome>;
  /** Tasks running or waiting. Counted here rather than by piscina's `maxQueue`, which also refuses a task sent as a thread is becoming free. */
  private inFlight = 0;

  constructor(@Inject(ENV_CONFIG) private readonly env: EnvConfig) {
    const { threads } = env.rulesAnalysis;
    if (threads === 0) return;
    // From the TypeScript sources (tests), the worker compiles its modules as it loads them.
    const fromSources = __filename.endsWith('.ts');
    this.pool = new Piscina({
      filename: join(__dirname, `rule-set-analysis.worker.${fromSources ? 'ts' : 'js'}`),
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: IDLE_MS,
      niceIncrement: 10,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      ...(fromSources
        ? {
            execArgv: ['--require', require.resolve('ts-node/register/transpile-only'), '--require', require.resolve('tsconfig-paths/register')],
            env: { ...process.env, TS_NODE_PROJECT: fromRoot('tsconfig.json') },
          }
        : {}),
    });
  }

  /** Analyzes (or with `parseOnly`, reads) a document; a document that cannot be read is a RulesAdminError. */
  async run(request: AnalysisRequest): Promise<AnalysisResult> {
    const outcome = this.pool ? await this.inWorker(this.pool, request) : analyzeDocument(request);
    if (!outcome.ok) throw new RulesAdminError(outcome.code, outcome.message, outcome.problems);
    return outcome;
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.destroy();
  }

  private async inWorker(pool: Piscina<AnalysisRequest, AnalysisOutcome>, request: AnalysisRequest): Promise<AnalysisOutcome> {
    const { timeoutMs, queue, threads } = this.env.rulesAnalysis;
    if (this.inFlight >= threads + queue) {
      throw new RulesAdminError('ANALYSIS_UNAVAILABLE', `the queue of rule set validations is full (RULES_ANALYSIS_QUEUE=${queue} waiting); try again in a moment`);
    }
    this.inFlight++;
    try {
      return await pool.run(request, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const err = e as { name?: string; code?: string; message?: string };
      if (err.name === 'AbortError' || err.name === 'TimeoutError') {
        throw new RulesAdminError('ANALYSIS_UNAVAILABLE', `the validation took more than ${timeoutMs} ms (RULES_ANALYSIS_TIMEOUT_MS) and was stopped`);
      }
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new RulesAdminError('ANALYSIS_UNAVAILABLE', `the validation needed more than ${WORKER_HEAP_MB} MB and was stopped`);
      }
      throw e;
    } finally {
      this.inFlight--;
    }
  }
}
