import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DOMAIN_CONFIG, DomainConfig, loadRuleSet } from '@app/config';
import { CompiledRuleSet } from '@app/rules';
import { RuleSetRepository } from './rule-set.repository';

export interface ActiveRules {
  version: number;
  checksum: string;
  compiled: CompiledRuleSet;
}

/**
 * The rule set every evaluation uses right now. Readers take one snapshot per batch or request,
 * so a batch is never evaluated by a mix of two versions. Compiled versions are kept, so older
 * ones (for explanations) compile once.
 */
@Injectable()
export class ActiveRuleSet implements OnModuleInit {
  private readonly logger = new Logger('rules');
  private active: ActiveRules;
  private readonly compiledVersions = new Map<number, Promise<ActiveRules>>();

  constructor(
    @Inject(DOMAIN_CONFIG) private readonly domain: DomainConfig,
    private readonly repository: RuleSetRepository,
  ) {
    // Until the database answers, the configuration files' rule set (it seeds version 1).
    this.active = { version: 1, checksum: domain.rules.checksum, compiled: domain.rules.compiled };
  }

  async onModuleInit(): Promise<void> {
    await this.repository.seedIfEmpty(this.domain.rules.document, this.domain.rules.checksum);
    // The stored active version, always: the files' rule set stood in as "version 1" until now,
    // and the stored version 1 is the files as they were at the first start, not as they are.
    const version = await this.repository.activeVersion();
    this.active = await this.version(version);
    this.logger.log(`rule set version ${version} (${this.active.checksum.slice(0, 12)}) is active`);
    if (this.active.checksum !== this.domain.rules.checksum) {
      this.logger.warn(
        `the configuration's rule set (${this.domain.rules.checksum.slice(0, 12)}) is not the active rule set version ${version} (${this.active.checksum.slice(0, 12)}): ` +
          `the files seed only an empty database; the active version is used. To make the files' rules active: npm run cli -- rules publish <rules file> (README: "Rules: versions, validation, preview, publish, roll back")`,
      );
    }
  }

  current(): ActiveRules {
    return this.active;
  }

  /** Makes `version` the local active rule set if it is not already. */
  async ensure(version: number): Promise<ActiveRules> {
    if (this.active.version === version) return this.active;
    const rules = await this.version(version);
    if (this.active.version !== rules.version) {
      this.logger.log(`rule set version ${rules.version} (${rules.checksum.slice(0, 12)}) is now active`);
      this.active = rules;
    }
    return this.active;
  }

  /** A stored version, compiled against the current sources configuration. */
  version(version: number): Promise<ActiveRules> {
    let compiled = this.compiledVersions.get(version);
    if (!compiled) {
      compiled = this.repository.get(version).then((row) => {
        if (!row) throw new Error(`rule set version ${version} does not exist`);
        // Stored versions were accepted when they were stored: limits added since must not stop them loading.
        const loaded = loadRuleSet(row.document, this.domain.sources, `rule set version ${version}`, { stored: true });
        return { version, checksum: row.checksum, compiled: loaded.compiled };
      });
      compiled.catch(() => this.compiledVersions.delete(version));
      this.compiledVersions.set(version, compiled);
    }
    return compiled;
  }
}
