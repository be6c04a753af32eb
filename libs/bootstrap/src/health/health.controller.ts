import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { backgroundHealth, CONSUMER_HEALTH, ConsumerHealth } from '@app/observability';
import { ActiveRuleSet, ProjectionHealth, StatusOutboxRelay } from '@app/projection';

/** `/health/live`: the process answers. `/health` and `/health/ready`: it can serve and consume. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly projection: ProjectionHealth,
    private readonly rules: ActiveRuleSet,
    private readonly outbox: StatusOutboxRelay,
    @Optional() @Inject(CONSUMER_HEALTH) private readonly consumer?: ConsumerHealth,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get()
  @HealthCheck()
  overall() {
    return this.ready();
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const { version, checksum } = this.rules.current();
    return this.health.check([
      () => this.probe('database', () => this.projection.database()),
      () => this.probe('redis', () => this.projection.cache()),
      () => {
        const s = this.indicator.check('consumer');
        if (!this.consumer) return s.up({ message: 'not part of this process' });
        // Kafka: the group's lag per partition, this member's partitions, kafkajs crashes.
        const details = this.consumer.details();
        if (!this.consumer.running) return s.down({ message: `not consuming: ${this.consumer.stopped().join('; ') || 'stopping'}`, ...details });
        const { stalled, stalledForMs, waiting, lastError } = this.consumer.progress();
        if (!stalled) return s.up({ waiting, ...details });
        const seconds = Math.round(stalledForMs / 1000);
        return s.down({
          message: `stalled: no batch settled for ${seconds} s while ${waiting} messages wait${lastError ? `; last error: ${lastError}` : ''}`,
          stalledForSeconds: seconds,
          waiting,
          lastError,
          ...details,
        });
      },
      () => this.indicator.check('ruleSet').up({ version, checksum }),
      // Parked changes need an operator, but the instance still serves: shown, not "down".
      () => this.probe('outbox', async () => ({ ...(await this.outbox.health()) })),
      // Background jobs that failed since start (reprojection, rule set sync, outbox relay): shown, not "down".
      () => this.indicator.check('background').up({ jobs: backgroundHealth() }),
    ]);
  }

  /** Up (with what `fn` returns as details) unless it fails or takes more than 2 s. */
  private async probe(key: string, fn: () => Promise<Record<string, unknown> | void>) {
    const s = this.indicator.check(key);
    try {
      const details = await Promise.race([fn(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
      return details ? s.up(details) : s.up();
    } catch (e) {
      return s.down({ message: (e as Error).message });
    }
  }
}
