import { Injectable } from '@nestjs/common';
import { Connections, openConnections } from '@app/bootstrap';
import { BackfillUseCase, createBackfillContext, LegacySourceFactory, ReconcileMetrics, ReconcileUseCase } from '@app/backfill';
import { DomainConfig, EnvConfig, loadDomainConfig, loadEnvConfig } from '@app/config';
import { StatusOutboxRelay, VerifyProjectionUseCase } from '@app/projection';

export interface WorkContext {
  backfill: BackfillUseCase;
  reconcile: ReconcileUseCase;
  metrics: ReconcileMetrics;
  verify: VerifyProjectionUseCase;
  /** Status changes committed and not yet published; null when this process relays them itself. */
  outboxBacklog(): Promise<number | null>;
  /** Every system with a legacy connection (what --all means). */
  connectedSystems(): string[];
  close(): Promise<void>;
}

/**
 * Opens the statusview database (migrated) and Redis, then the projection and backfill modules.
 * Done by the command that needs it, not at boot, so that `--help` works with every server down.
 */
@Injectable()
export class WorkContextFactory {
  /**
   * The CLI does not relay the status outbox unless OUTBOX_RELAY=true: the changes it commits are
   * published by the service's relay, the one publisher, in commit order (docs/backfill.md). It
   * analyzes rule sets in its own thread (no event loop to keep free, and one heap to stay within).
   */
  loadConfig(): { env: EnvConfig; domain: DomainConfig } {
    const env = loadEnvConfig({ OUTBOX_RELAY: 'false', RULES_ANALYSIS_THREADS: '0', ...process.env });
    return { env, domain: loadDomainConfig(env.configDir, { directSystems: env.cdc.directSystems }) };
  }

  async open(): Promise<WorkContext> {
    const { env, domain } = this.loadConfig();
    const connections: Connections = await openConnections(env);
    try {
      const ctx = await createBackfillContext({ env, domain, connections, legacyEnv: process.env });
      const sources = ctx.get(LegacySourceFactory);
      return {
        backfill: ctx.get(BackfillUseCase),
        reconcile: ctx.get(ReconcileUseCase),
        metrics: ctx.get(ReconcileMetrics),
        verify: ctx.get(VerifyProjectionUseCase),
        outboxBacklog: async () => (env.outbox.enabled ? null : ctx.get(StatusOutboxRelay).backlog()),
        connectedSystems: () => sources.connectedSystems(),
        close: async () => {
          await ctx.close();
          await connections.close();
        },
      };
    } catch (e) {
      await connections.close();
      throw e;
    }
  }
}
