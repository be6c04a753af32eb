export * from './change-batch.processor';
export * from './cdc-consumer.service';
export * from './ingest.module';
