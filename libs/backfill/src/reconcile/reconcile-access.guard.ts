import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';

/** The GraphQL module's own role guard, handed in by `ReconcileGraphqlModule.forRoot` (it cannot be imported from here). */
export const RECONCILE_ROLE_GUARD = Symbol('RECONCILE_ROLE_GUARD');

/** Delegates to the API's role guard, so `lastReconcileReport` needs the same role as the other reads. */
@Injectable()
export class ReconcileAccessGuard implements CanActivate {
  constructor(@Inject(RECONCILE_ROLE_GUARD) private readonly guard: CanActivate) {}

  canActivate(context: ExecutionContext) {
    return this.guard.canActivate(context);
  }
}
