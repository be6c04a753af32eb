import { Module } from '@nestjs/common';
import { DraftExplanationService } from './preview/draft-explanation.service';
import { ImpactPreviewService } from './preview/impact-preview.service';
import { RuleSetLifecycleService } from './lifecycle/rule-set-lifecycle.service';
import { ApiTokenService } from './tokens/api-token.service';
import { RuleSetAnalysisPool } from './validation/rule-set-analysis.pool';
import { RuleSetValidator } from './validation/rule-set.validator';

/** Analysts' rule management and API tokens. Needs ConfigModule, ProjectionModule and ApiTokenConnectionsModule. */
@Module({
  providers: [RuleSetAnalysisPool, RuleSetValidator, ImpactPreviewService, DraftExplanationService, RuleSetLifecycleService, ApiTokenService],
  exports: [RuleSetValidator, ImpactPreviewService, DraftExplanationService, RuleSetLifecycleService, ApiTokenService],
})
export class RulesAdminModule {}
