import { Inject } from '@nestjs/common';
import { Args, Context, Resolver, Subscription } from '@nestjs/graphql';
import type { WebSocket } from 'ws';
import { ENV_CONFIG, EnvConfig } from '@app/config';
import { ActiveRuleSet, StatusChangeMessage } from '@app/projection';
import { ApiTokenService } from '@app/access';
import { RequestAuth, requireRole, unauthenticated } from '../auth/request-auth';
import { TokenRevocationWatch } from '../auth/token-revocation.watch';
import { CustomerIdNormalizer } from '../customers/customer-id.normalizer';
import { badUserInput } from '../errors/graphql-errors';
import { STATUS_CHANGED_TOPIC } from './status-change.fanout';

interface PubSub {
  subscribe(topic: string): Promise<AsyncIterable<unknown>>;
}

interface Filter {
  ids?: string[] | null;
  statuses?: string[] | null;
}

/** A subscription's filter, normalized once: each change is then two set lookups, whatever the list sizes. */
interface CompiledFilter {
  ids: Set<string> | null;
  statuses: Set<string> | null;
}

@Resolver('Subscription')
export class StatusChangeResolver {
  /** Keyed by the subscription's own arguments object, which graphql-js hands to every filter call. */
  private readonly filters = new WeakMap<Filter, CompiledFilter>();

  constructor(
    private readonly ids: CustomerIdNormalizer,
    private readonly tokens: ApiTokenService,
    private readonly revocations: TokenRevocationWatch,
    private readonly rules: ActiveRuleSet,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  @Subscription('customerStatusChanged', {
    filter(this: StatusChangeResolver, payload: { customerStatusChanged: StatusChangeMessage }, variables: Filter) {
      const change = payload.customerStatusChanged;
      let filter = this.filters.get(variables);
      if (!filter) this.filters.set(variables, (filter = compile(variables, this.ids.normalize)));
      if (filter.ids && !filter.ids.has(change.customerId)) return false;
      if (filter.statuses && !filter.statuses.has(change.to)) return false;
      return true;
    },
  })
  async customerStatusChanged(
    @Context('pubsub') pubsub: PubSub,
    @Context('auth') auth: RequestAuth | undefined,
    @Context('socket') socket: WebSocket | undefined,
    @Args('ids') ids: string[] | null,
    @Args('statuses') statuses: string[] | null,
  ) {
    const max = this.env.graphql.maxIds;
    if ((ids?.length ?? 0) > max) throw badUserInput(`customerStatusChanged(ids) takes at most ${max} ids, got ${ids!.length}`);
    if ((statuses?.length ?? 0) > max) throw badUserInput(`customerStatusChanged(statuses) takes at most ${max} statuses, got ${statuses!.length}`);
    // An empty list would match nothing, or (as a missing one) everything: neither is what was meant.
    if (ids?.length === 0) throw badUserInput('customerStatusChanged(ids) is empty: leave it out for every customer');
    if (statuses?.length === 0) throw badUserInput('customerStatusChanged(statuses) is empty: leave it out for every status');
    const known = this.rules.current().compiled.statuses;
    const unknown = (statuses ?? []).filter((st) => !known.includes(st));
    if (unknown.length > 0) {
      throw badUserInput(`customerStatusChanged(statuses): ${unknown.slice(0, 5).map((u) => JSON.stringify(u.slice(0, 40))).join(', ')} not a status of the active rule set (${known.join(', ')})`);
    }
    const principal = requireRole(auth ?? { kind: 'anonymous' }, 'viewer', this.env.graphql.allowAnonymousReads);
    if (principal) {
      // The connection was authenticated at connection_init, maybe long ago: a token revoked since
      // must not open new subscriptions on it, and an open one is closed when it is revoked.
      if (!(await this.tokens.activeIds([principal.tokenId])).has(principal.tokenId)) throw unauthenticated('the API token of this connection was revoked');
      if (socket) this.revocations.watch(principal.tokenId, socket);
    }
    return pubsub.subscribe(STATUS_CHANGED_TOPIC);
  }
}

// A function, not a method: Nest takes every method of a resolver class for a field resolver.
function compile(variables: Filter, normalize: (raw: string) => string | null): CompiledFilter {
  const ids = variables.ids?.length ? new Set(variables.ids.map(normalize).filter((k): k is string => k !== null)) : null;
  return { ids, statuses: variables.statuses?.length ? new Set(variables.statuses) : null };
}
