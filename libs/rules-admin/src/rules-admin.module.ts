import { Module } from '@nestjs/common';
import { ImpactPreviewService } from './preview/impact-preview.service';
import { RuleSetAdminService } from './publishing/rule-set-admin.service';
import { ApiTokenService } from './tokens/api-token.service';
import { RuleSetAnalysisPool } from './validation/rule-set-analysis.pool';
import { RuleSetValidator } from './validation/rule-set.validator';

/** Analysts' rule management and API tokens. Needs ConfigModule, ProjectionModule and ApiTokenConnectionsModule. */
@Module({
  providers: [RuleSetAnalysisPool, RuleSetValidator, ImpactPreviewService, RuleSetAdminService, ApiTokenService],
  exports: [RuleSetValidator, ImpactPreviewService, RuleSetAdminService, ApiTokenService],
})
export class RulesAdminModule {}
