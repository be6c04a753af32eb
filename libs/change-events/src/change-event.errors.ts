import type { ChangeEvent } from './change-event.model';

export type DecodeErrorCode =
  | 'NOT_JSON'
  | 'NOT_DEBEZIUM'
  | 'UNKNOWN_TOPIC'
  | 'NO_USABLE_ROW'
  | 'UNKNOWN_OP'
  /** A position (lsn, binlog file/pos/row, ts_ms) that is not an exact integer the key can hold. */
  | 'BAD_POSITION'
  /** A record key or customer key value that is not a string, a number or a boolean. */
  | 'BAD_KEY'
  /** A record key or customer key longer than CDC_MAX_KEY_LENGTH. */
  | 'KEY_TOO_LONG'
  /** A message larger than CDC_MAX_MESSAGE_BYTES. */
  | 'TOO_LARGE'
  /** A message nested deeper than CDC_MAX_DEPTH. */
  | 'TOO_DEEP';

/** A message or row that can never be projected: it goes to the dead letters with this reason. */
export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
    /**
     * What is applied all the same: the removal of the record a row with no usable customer key
     * stands for, so that the customer it belonged to does not keep its old values.
     */
    readonly withdraw?: ChangeEvent,
  ) {
    super(message);
  }
}
