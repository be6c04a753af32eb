export * from './cdc.errors';
export * from './decoding/change-event.model';
export * from './decoding/change-event.decoder';
export { positionOf, isNewer } from './decoding/source-position';
export * from './transports/change-batch.handler';
export * from './transports/transport.logger';
export * from './transports/amqp/amqp-cdc.consumer';
export * from './transports/kafka/kafka-cdc.consumer';
export * from './decoding/debezium-envelope.builder';
