import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { Role } from '@app/access';
import { GraphqlContext } from '../customers/customer.loaders';
import { requireRole } from './request-auth';

const ROLE_KEY = 'statusview:role';

/** The smallest role a resolver needs. */
export const RequiresRole = (role: Role) => SetMetadata(ROLE_KEY, role);

/** Guards every resolver that declares a role with @RequiresRole. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const role = this.reflector.getAllAndOverride<Role | undefined>(ROLE_KEY, [context.getHandler(), context.getClass()]);
    if (!role) return true;
    const ctx = GqlExecutionContext.create(context).getContext<GraphqlContext>();
    requireRole(ctx.auth, role, this.env.graphql.allowAnonymousReads);
    return true;
  }
}
