import { DecodeError } from '@app/change-events';
import { DecodedMessage, RawMessage } from '../debezium/debezium-json.decoder';
import { InboundChange, undecodableChange } from './change-sink';
import { TransportLogger } from './transport.logger';

/** What a message transport needs to turn bytes into change events: the decoder of the message's source. */
export interface MessageDecoder {
  decode(message: RawMessage): DecodedMessage;
}

/**
 * A broker's messages as change events. Decoding is a function of the message alone (no
 * connection, no shared state): whatever it throws, it throws for that message every time, so the
 * message is undecodable; an error that is not a DecodeError is a bug, logged as one.
 */
export function decodeMessages(
  decoder: MessageDecoder,
  messages: ReadonlyArray<RawMessage & { ref: string }>,
  logger: Pick<TransportLogger, 'error'>,
): InboundChange[] {
  return messages.map((m): InboundChange => {
    try {
      const decoded = decoder.decode(m);
      return decoded.kind === 'skip' ? { kind: 'skip', reason: decoded.reason, ref: m.ref } : { kind: 'event', event: decoded, ref: m.ref };
    } catch (e) {
      if (e instanceof DecodeError) return undecodableChange(e, m.ref);
      const reason = (e as Error)?.message ?? String(e);
      logger.error(`decoding ${m.ref} of ${m.topic} failed unexpectedly: ${(e as Error)?.stack ?? reason}`);
      return { kind: 'undecodable', code: 'UNDECODABLE', reason: `the decoder failed on it: ${reason}`, ref: m.ref };
    }
  });
}
