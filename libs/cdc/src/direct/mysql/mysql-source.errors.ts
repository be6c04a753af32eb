import { OperatorError } from '@app/config';

/** Why a MySQL/MariaDB server cannot be read as a direct source; the message says what to change. */
export type MysqlSourceErrorCode =
  | 'UNREACHABLE'
  | 'ACCESS_DENIED'
  | 'BINLOG_OFF'
  | 'BINLOG_NOT_ROW'
  | 'ROW_IMAGE_NOT_FULL'
  | 'NO_REPLICATION_GRANT'
  | 'TABLE_MISSING'
  | 'BINLOG_PURGED'
  | 'BAD_CHECKPOINT';

export class MysqlSourceError extends OperatorError {
  constructor(
    readonly code: MysqlSourceErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'MysqlSourceError';
  }
}
