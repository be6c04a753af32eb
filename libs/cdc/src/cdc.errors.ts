export type DecodeErrorCode = 'NOT_JSON' | 'NOT_DEBEZIUM' | 'UNKNOWN_TOPIC' | 'NO_USABLE_ROW' | 'UNKNOWN_OP';

/** A message that can never be projected: it goes to the dead-letter queue/topic with this reason. */
export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
