import { MigrationInterface } from 'typeorm';
import { InitialProjection1732400000000 } from './1732400000000-initial-projection';
import { RuleSetVersions1732500000000 } from './1732500000000-rule-set-versions';
import { StatusOutbox1732600000000 } from './1732600000000-status-outbox';
import { TruncateWatermark1732800000000 } from './1732800000000-truncate-watermark';
import { ByteKeysAndWriteTimes1732900000000 } from './1732900000000-byte-keys-and-write-times';
import { RecordMovesAndChangeVersions1733100000000 } from './1733100000000-record-moves-and-change-versions';
import { VerifyReport1733200000000 } from './1733200000000-verify-report';
import { StatusOutboxDead1733300000000 } from './1733300000000-status-outbox-dead';
import { RepairPositionKeys1733400000000 } from './1733400000000-repair-position-keys';
import { ChangeVersionsEverywhere1733500000000 } from './1733500000000-change-versions-everywhere';
import { DirectDeadLetters1733600000000 } from './1733600000000-direct-dead-letters';
import { SourceCheckpoints1733700000000 } from './1733700000000-source-checkpoints';
import { ChurnStorage1733800000000 } from './1733800000000-churn-storage';
import { HistoryRetention1733810000000 } from './1733810000000-history-retention';
import { CustomerRemovals1733820000000 } from './1733820000000-customer-removals';

export type Migrations = ReadonlyArray<new () => MigrationInterface>;

/**
 * The projection's migrations, in order. Never `synchronize`. Other libraries' tables in the same
 * database have migrations of their own: the process entry passes them all to `openDatabase`
 * (TypeORM runs them by timestamp, whichever list they come from).
 */
export const projectionMigrations: Migrations = [
  InitialProjection1732400000000,
  RuleSetVersions1732500000000,
  StatusOutbox1732600000000,
  TruncateWatermark1732800000000,
  ByteKeysAndWriteTimes1732900000000,
  RecordMovesAndChangeVersions1733100000000,
  VerifyReport1733200000000,
  StatusOutboxDead1733300000000,
  RepairPositionKeys1733400000000,
  ChangeVersionsEverywhere1733500000000,
  DirectDeadLetters1733600000000,
  SourceCheckpoints1733700000000,
  ChurnStorage1733800000000,
  HistoryRetention1733810000000,
  CustomerRemovals1733820000000,
];
