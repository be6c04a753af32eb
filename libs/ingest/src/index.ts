export * from './ingest-changes.use-case';
export * from './cdc-consumer.service';
export * from './ingest.module';
export * from './transports/transport.registry';
export * from './direct/direct-sources.registry';
