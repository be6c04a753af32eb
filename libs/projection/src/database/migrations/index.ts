import { InitialProjection1732400000000 } from './1732400000000-initial-projection';
import { RuleSetVersions1732500000000 } from './1732500000000-rule-set-versions';
import { StatusOutbox1732600000000 } from './1732600000000-status-outbox';
import { BackfillAndReconcile1732700000000 } from '@app/backfill/migrations';
import { TruncateWatermark1732800000000 } from './1732800000000-truncate-watermark';
import { ByteKeysAndWriteTimes1732900000000 } from './1732900000000-byte-keys-and-write-times';
import { RecordMovesAndChangeVersions1733100000000 } from './1733100000000-record-moves-and-change-versions';
import { VerifyReport1733200000000 } from './1733200000000-verify-report';
import { StatusOutboxDead1733300000000 } from './1733300000000-status-outbox-dead';
import { RepairPositionKeys1733400000000 } from './1733400000000-repair-position-keys';

/** Every migration, in order. Never `synchronize`. */
export const migrations = [
  InitialProjection1732400000000,
  RuleSetVersions1732500000000,
  StatusOutbox1732600000000,
  BackfillAndReconcile1732700000000,
  TruncateWatermark1732800000000,
  ByteKeysAndWriteTimes1732900000000,
  RecordMovesAndChangeVersions1733100000000,
  VerifyReport1733200000000,
  StatusOutboxDead1733300000000,
  RepairPositionKeys1733400000000,
];
