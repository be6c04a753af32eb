import { Inject, Injectable } from '@nestjs/common';
import { customerKeyNormalizer } from '@app/change-events';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';

/** Ids in queries are normalized like the legacy customer numbers: ` c-000123 ` finds `C-000123`. */
@Injectable()
export class CustomerIdNormalizer {
  readonly normalize: (raw: string) => string | null;

  constructor(@Inject(DOMAIN_CONFIG) domain: DomainConfig) {
    this.normalize = customerKeyNormalizer(domain.sources.customerKey.normalize);
  }
}
