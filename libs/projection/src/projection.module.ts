import { DynamicModule, Module } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { ApplyChangesUseCase } from './apply-changes.use-case';
import { CustomerCache } from './cache/customer.cache';
import { RedisKeys } from './cache/redis-keys';
import { RedisMemory } from './cache/redis-memory';
import { PROJECTION_DATA_SOURCE, REDIS_CLIENT, REDIS_KEYS } from './database/projection.tokens';
import { ProjectionHealth } from './health/projection.health';
import { StatusChangeFeed } from './outbox/status-change.feed';
import { StatusOutboxRelay } from './outbox/status-outbox.relay';
import { OutboxCompaction } from './outbox/outbox-compaction';
import { CustomerInputsReader } from './read/customer-inputs.reader';
import { CustomerReader } from './read/customer.reader';
import { ProjectionQueries } from './read/projection.queries';
import { SourceRecordRepository } from './records/source-record.repository';
import { ReprojectionService } from './reprojection/reprojection.service';
import { ActiveRuleSet } from './rules/active-rule-set';
import { RuleSetRepository } from './rules/rule-set.repository';
import { RuleSetSyncService } from './rules/rule-set-sync.service';
import { InstanceRegistry } from './rules/instance-registry';
import { CustomerResolution } from './store/customer-resolution';
import { CustomerWriter } from './store/customer.writer';
import { InitialLoadWriter } from './store/initial-load.writer';
import { ProjectionStore } from './store/projection.store';
import { VerifyProjectionUseCase } from './verify/verify-projection.use-case';
import { VerifyReportStore } from './verify/verify-report.store';
import { DirectDeadLetterStore } from './dead-letters/direct-dead-letter.store';
import { TableSizes } from './maintenance/table-sizes';
import { HistoryRetention } from './maintenance/history-retention';
import { TableVacuum } from './maintenance/table-vacuum';
import { SourceCheckpointStore } from './checkpoints/source-checkpoint.store';

export interface ProjectionConnections {
  dataSource: DataSource;
  redis: Redis;
  redisPrefix: string;
}

/**
 * Resolution, store and cache. Connections are opened (and checked) before Nest boots, by the
 * process entry, and stay inside this module: other libraries get its use cases and repositories
 * (global, so that any module of the process can inject them), never the connections.
 */
@Module({})
export class ProjectionModule {
  static forRoot(connections: ProjectionConnections): DynamicModule {
    return {
      module: ProjectionModule,
      global: true,
      providers: [
        { provide: PROJECTION_DATA_SOURCE, useValue: connections.dataSource },
        { provide: REDIS_CLIENT, useValue: connections.redis },
        { provide: REDIS_KEYS, useValue: new RedisKeys(connections.redisPrefix) },
        ActiveRuleSet,
        RuleSetRepository,
        RuleSetSyncService,
        CustomerResolution,
        CustomerWriter,
        InitialLoadWriter,
        ProjectionStore,
        CustomerCache,
        RedisMemory,
        CustomerReader,
        ProjectionQueries,
        ApplyChangesUseCase,
        ReprojectionService,
        StatusOutboxRelay,
        OutboxCompaction,
        StatusChangeFeed,
        VerifyReportStore,
        VerifyProjectionUseCase,
        InstanceRegistry,
        SourceRecordRepository,
        CustomerInputsReader,
        ProjectionHealth,
        DirectDeadLetterStore,
        TableSizes,
        HistoryRetention,
        TableVacuum,
        SourceCheckpointStore,
      ],
      exports: [
        DirectDeadLetterStore,
        TableSizes,
        HistoryRetention,
        TableVacuum,
        SourceCheckpointStore,
        REDIS_KEYS,
        ActiveRuleSet,
        RuleSetRepository,
        RuleSetSyncService,
        ProjectionStore,
        CustomerCache,
        CustomerReader,
        ProjectionQueries,
        ApplyChangesUseCase,
        ReprojectionService,
        StatusOutboxRelay,
        OutboxCompaction,
        StatusChangeFeed,
        VerifyProjectionUseCase,
        InstanceRegistry,
        SourceRecordRepository,
        CustomerInputsReader,
        ProjectionHealth,
      ],
    };
  }
}
