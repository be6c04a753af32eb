import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { KafkaCdcConsumer } from '@app/cdc';
import { CdcConsumerService } from '@app/ingest';
import { ActiveRuleSet, PROJECTION_DATA_SOURCE, REDIS_CLIENT } from '@app/projection';

/** `/health/live`: the process answers. `/health` and `/health/ready`: it can serve and consume. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly rules: ActiveRuleSet,
    @Optional() private readonly consumer?: CdcConsumerService,
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
      () => this.probe('database', () => this.db.query('SELECT 1')),
      () => this.probe('redis', () => this.redis.ping()),
      () => {
        const s = this.indicator.check('consumer');
        if (!this.consumer) return s.up({ message: 'not part of this process' });
        // Kafka: the group's lag per partition, this member's partitions, kafkajs crashes.
        const details: Record<string, unknown> = this.consumer.consumer instanceof KafkaCdcConsumer ? { kafka: this.consumer.consumer.health() } : {};
        return this.consumer.running ? s.up(details) : s.down({ message: 'not consuming (broker unreachable or stopping)', ...details });
      },
      () => this.indicator.check('ruleSet').up({ version, checksum }),
    ]);
  }

  private async probe(key: string, fn: () => Promise<unknown>) {
    const s = this.indicator.check(key);
    try {
      await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
      return s.up();
    } catch (e) {
      return s.down({ message: (e as Error).message });
    }
  }
}
