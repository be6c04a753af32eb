import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { backgroundFailed, backgroundSucceeded } from '@app/observability';
import { ActiveRuleSet, HEARTBEAT_MS, InstanceRegistry } from '@app/projection';

/** A failed beat is logged once a minute while it keeps failing (every one is counted). */
const LOG_EVERY = 60_000 / HEARTBEAT_MS;

/**
 * Announces this serving process, and the rule set version it evaluates with, every HEARTBEAT_MS
 * (see InstanceRegistry), so that the console shows every instance, not only the one that
 * answers. A failed beat is logged, counted (statusview_background_failures_total{job="instance-heartbeat"})
 * and shown in /health like every background job's; the next beat tries again.
 */
export class InstanceHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('instances');
  private readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly rules: ActiveRuleSet,
    private readonly parts: string[],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { version, checksum } = this.rules.current();
    try {
      await this.registry.beat({ id: this.id, host: hostname(), pid: process.pid, parts: this.parts, ruleSetVersion: version, checksum, startedAt: this.startedAt, lastSeen: new Date().toISOString() });
      backgroundSucceeded('instance-heartbeat');
    } catch (e) {
      backgroundFailed('instance-heartbeat', e, 'cannot write the instance heartbeat to Redis', LOG_EVERY);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.registry.remove(this.id).catch((e: Error) => this.logger.warn(`cannot remove the instance heartbeat: ${e.message}`));
  }
}
