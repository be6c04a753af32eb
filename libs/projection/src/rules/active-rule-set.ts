import { Inject, Injectable } from '@nestjs/common';
import { DOMAIN_CONFIG, DomainConfig } from '@app/config';
import { CompiledRuleSet } from '@app/rules';

export interface ActiveRules {
  version: number;
  checksum: string;
  compiled: CompiledRuleSet;
}

/**
 * The rule set every evaluation uses right now. Readers take one snapshot per batch or request,
 * so a batch is never evaluated by a mix of two versions.
 */
@Injectable()
export class ActiveRuleSet {
  private active: ActiveRules;

  constructor(@Inject(DOMAIN_CONFIG) domain: DomainConfig) {
    this.active = { version: 1, checksum: domain.rules.checksum, compiled: domain.rules.compiled };
  }

  current(): ActiveRules {
    return this.active;
  }

  activate(rules: ActiveRules): void {
    this.active = rules;
  }
}
