import { Inject } from '@nestjs/common';
import { Args, Context, Resolver, Subscription } from '@nestjs/graphql';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { StatusChangeMessage } from '@app/projection';
import { RequestAuth, requireRole } from '../auth/request-auth';
import { CustomerIdNormalizer } from '../customers/customer-id.normalizer';
import { STATUS_CHANGED_TOPIC } from './status-change.fanout';

interface PubSub {
  subscribe(topic: string): Promise<AsyncIterable<unknown>>;
}

interface Filter {
  ids?: string[] | null;
  statuses?: string[] | null;
}

@Resolver('Subscription')
export class StatusChangeResolver {
  constructor(
    private readonly ids: CustomerIdNormalizer,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  @Subscription('customerStatusChanged', {
    filter(this: StatusChangeResolver, payload: { customerStatusChanged: StatusChangeMessage }, variables: Filter) {
      const change = payload.customerStatusChanged;
      if (variables.ids?.length && !variables.ids.some((id) => this.ids.normalize(id) === change.customerId)) return false;
      if (variables.statuses?.length && !variables.statuses.includes(change.to)) return false;
      return true;
    },
  })
  customerStatusChanged(
    @Context('pubsub') pubsub: PubSub,
    @Context('auth') auth: RequestAuth | undefined,
    @Args('ids') _ids: string[] | null,
    @Args('statuses') _statuses: string[] | null,
  ) {
    requireRole(auth ?? { kind: 'anonymous' }, 'viewer', this.env.graphql.allowAnonymousReads);
    return pubsub.subscribe(STATUS_CHANGED_TOPIC);
  }
}
