import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { openConnections } from '@app/bootstrap';
import { ConfigModule, loadDomainConfig, loadRuleSet } from '@app/config';
import { ProjectionModule, ReprojectionService } from '@app/projection';
import { ImpactPreviewService, RuleSetLifecycleService, RulesAdminModule } from '@app/rules-admin';
import { benchEnv, serverUrls } from '../bench.env';
import { now } from './app.worker';
import { RssSampler, Worker } from './worker.protocol';

@Module({})
class RulesBenchModule {}

export interface PreviewRun {
  /** The first query the preview sent, with its parameters, to time the same query alone. */
  query: { sql: string; params: unknown[] } | null;
  customers: number;
  moving: number;
  startedAt: number;
  doneAt: number;
  peakRssBytes: number;
}

export interface ReprojectionRun {
  version: number;
  state: string;
  total: number;
  processed: number;
  changed: number;
  startedAt: number;
  doneAt: number;
  /** True when the run was stopped (superseded) at the time cap before the end. */
  capped: boolean;
  /** Why it failed, when it did (the progress row's error). */
  error: string | null;
  peakRssBytes: number;
}

/** The analysts' use cases (libs/rules-admin) on the projection: impact preview, publish and reprojection. */
export async function rulesWorker(raw: unknown): Promise<Worker> {
  const args = (raw ?? {}) as { env?: Record<string, string> };
  const env = benchEnv(serverUrls(), args.env);
  const domain = loadDomainConfig(env.configDir);
  const rss = new RssSampler();
  const connections = await openConnections(env);
  const ctx = await NestFactory.createApplicationContext(
    {
      module: RulesBenchModule,
      imports: [ConfigModule.forRoot({ env, domain }), ProjectionModule.forRoot(connections), RulesAdminModule],
    },
    { logger: ['error', 'warn'], abortOnError: false },
  );

  const preview = async (document: unknown): Promise<PreviewRun> => {
    const { compiled } = loadRuleSet(document, domain.sources, 'bench rule set');
    // Notes the preview's first query (the service builds it from the rule set) for the reference.
    const db = connections.dataSource;
    const query = db.query.bind(db);
    let first: PreviewRun['query'] = null;
    db.query = ((sql: string, params?: unknown[]) => {
      first ??= { sql, params: params ?? [] };
      return query(sql, params);
    }) as typeof db.query;
    rss.reset();
    const startedAt = now();
    try {
      const p = await ctx.get(ImpactPreviewService).preview(compiled);
      return { query: first, customers: p.customers, moving: p.moving, startedAt, doneAt: now(), peakRssBytes: rss.peak };
    } finally {
      db.query = query;
    }
  };

  const publish = async (document: unknown, capMs: number): Promise<ReprojectionRun> => {
    const admin = ctx.get(RuleSetLifecycleService);
    const draft = await admin.createDraft(document, 'benchmark: a changed rule set', 'bench');
    rss.reset();
    const startedAt = now();
    const published = await admin.publish(draft.version, 'benchmark: publish and reproject', 'bench');
    return follow(published.reprojection.id, startedAt, capMs);
  };

  /** An earlier version published again (what an analyst's rollback does): the soak alternates two versions this way. */
  const rollback = async (version: number, capMs: number): Promise<ReprojectionRun> => {
    rss.reset();
    const startedAt = now();
    const published = await ctx.get(RuleSetLifecycleService).rollback(version, 'benchmark: back to an earlier version', 'bench');
    return follow(published.reprojection.id, startedAt, capMs);
  };

  /** Waits for the reprojection a publish started, stopping it at the cap. */
  const follow = async (id: string, startedAt: number, capMs: number): Promise<ReprojectionRun> => {
    const reprojection = ctx.get(ReprojectionService);
    let capped = false;
    for (;;) {
      const p = await reprojection.progress(id);
      if (!p || p.state !== 'running') break;
      if (now() - startedAt > capMs) {
        // Stop it the way a newer publish would: the job ends after its batch in flight.
        capped = await reprojection.supersede(id);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await reprojection.wait(id);
    const doneAt = now();
    const p = await reprojection.progress(id);
    if (!p) throw new Error(`reprojection ${id} has no progress row`);
    return { version: p.version, state: p.state, total: p.total, processed: p.processed, changed: p.changed, startedAt, doneAt, capped, error: p.error, peakRssBytes: rss.peak };
  };

  return {
    info: null,
    async handle(cmd, a) {
      const x = a as { document: unknown; capMs?: number; version?: number };
      switch (cmd) {
        case 'preview':
          return preview(x.document);
        case 'publish':
          return publish(x.document, x.capMs ?? 120_000);
        case 'rollback':
          return rollback(x.version ?? 0, x.capMs ?? 120_000);
        default:
          throw new Error(`unknown command ${cmd}`);
      }
    },
    async stop() {
      rss.stop();
      await ctx.close();
      await connections.close();
    },
  };
}
