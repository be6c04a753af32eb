import { Global, Module } from '@nestjs/common';
import { CONSUMER_HEALTH } from '@app/observability';
import { DirectDeadLetterStore, SourceCheckpointStore } from '@app/projection';
import { CdcConsumerService } from './cdc-consumer.service';
import { CHECKPOINT_READER, DEAD_LETTER_SINK } from './direct/direct-sources.registry';
import { IngestChangesUseCase } from './ingest-changes.use-case';

/** The change-event consumer: transport → change events → the ingest use case → projection. Needs ConfigModule and ProjectionModule. */
@Global()
@Module({
  providers: [IngestChangesUseCase, CdcConsumerService, { provide: DEAD_LETTER_SINK, useExisting: DirectDeadLetterStore },
    { provide: CHECKPOINT_READER, useExisting: SourceCheckpointStore }, { provide: CONSUMER_HEALTH, useExisting: CdcConsumerService }],
  exports: [IngestChangesUseCase, CdcConsumerService, CONSUMER_HEALTH],
})
export class IngestModule {}
