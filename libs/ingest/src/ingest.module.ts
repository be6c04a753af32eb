import { Global, Module } from '@nestjs/common';
import { ChangeEventDecoder } from '@app/cdc';
import { DOMAIN_CONFIG, DomainConfig, ENV_CONFIG, EnvConfig } from '@app/config';
import { CdcConsumerService } from './cdc-consumer.service';
import { ChangeBatchProcessor } from './change-batch.processor';

/** The change-event consumer: transport → decoder → projection. Needs ConfigModule and ProjectionModule. */
@Global()
@Module({
  providers: [
    {
      provide: ChangeEventDecoder,
      useFactory: (d: DomainConfig, env: EnvConfig) => new ChangeEventDecoder(d.sources, env.cdc.limits),
      inject: [DOMAIN_CONFIG, ENV_CONFIG],
    },
    ChangeBatchProcessor,
    CdcConsumerService,
  ],
  exports: [ChangeBatchProcessor, CdcConsumerService, ChangeEventDecoder],
})
export class IngestModule {}
