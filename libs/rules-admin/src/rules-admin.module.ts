import { Module } from '@nestjs/common';
import { DraftExplanationService } from './preview/draft-explanation.service';
import { ImpactPreviewService } from './preview/impact-preview.service';
import { RuleSetLifecycleService } from './lifecycle/rule-set-lifecycle.service';
import { RuleSetAnalysisPool } from './validation/rule-set-analysis.pool';
import { RuleSetValidator } from './validation/rule-set.validator';

/** Analysts' rule management: validate, draft, preview, publish, roll back. Needs ConfigModule and ProjectionModule. */
@Module({
  providers: [RuleSetAnalysisPool, RuleSetValidator, ImpactPreviewService, DraftExplanationService, RuleSetLifecycleService],
  exports: [RuleSetValidator, ImpactPreviewService, DraftExplanationService, RuleSetLifecycleService],
})
export class RulesAdminModule {}
