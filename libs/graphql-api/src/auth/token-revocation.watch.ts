import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { ApiTokenService } from '@app/access';
import { ENV_CONFIG, EnvConfig } from '@app/config';

/** graphql-ws close code for a connection whose credentials stopped being valid (4403 Forbidden). */
export const TOKEN_REVOKED_CLOSE_CODE = 4403;
/** A client that does not answer the closing handshake is cut off after this. */
const TERMINATE_AFTER_MS = 1000;

/**
 * Closes the subscription connections of a token once it is revoked. A subscription is
 * authenticated once, at connection_init, so without this a revoked token kept receiving changes
 * for as long as its socket stayed open. Two ways, like the rule set sync:
 *
 * - the revocation is announced (ApiTokenService.onRevoked, from any instance or the CLI): every
 *   instance forgets its token cache and closes the token's sockets at once;
 * - every GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS, the tokens of live sockets are checked in one query,
 *   which covers an announcement lost while Redis was away, or a token revoked in SQL.
 */
@Injectable()
export class TokenRevocationWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('subscriptions');
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private stopListening?: () => void;
  private timer?: NodeJS.Timeout;
  private checking = false;
  private failing = false;

  constructor(
    private readonly tokens: ApiTokenService,
    @Inject(ENV_CONFIG) private readonly env: EnvConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopListening = await this.tokens.onRevoked((id) => this.close(id));
    this.timer = setInterval(() => void this.check(), this.env.graphql.subscriptionAuthCheckMs);
    this.timer.unref();
  }

  /** Watches a subscription socket authenticated by this token. */
  watch(tokenId: string, socket: WebSocket): void {
    let set = this.sockets.get(tokenId);
    if (!set) this.sockets.set(tokenId, (set = new Set()));
    if (set.has(socket)) return;
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(tokenId) === set) this.sockets.delete(tokenId);
    });
  }

  /** Checks the tokens of every watched socket in one query; closes the revoked ones'. */
  async check(): Promise<void> {
    if (this.checking || this.sockets.size === 0) return;
    this.checking = true;
    try {
      const ids = [...this.sockets.keys()];
      const active = await this.tokens.activeIds(ids);
      for (const id of ids) if (!active.has(id)) this.close(id);
      if (this.failing) this.logger.log('the subscription token check works again');
      this.failing = false;
    } catch (e) {
      // Logged once per outage, not every interval; the check runs again at the next one.
      if (!this.failing) this.logger.warn(`cannot check the tokens of live subscriptions: ${(e as Error).message}`);
      this.failing = true;
    } finally {
      this.checking = false;
    }
  }

  private close(tokenId: string): void {
    const set = this.sockets.get(tokenId);
    if (!set) return;
    this.sockets.delete(tokenId);
    for (const socket of set) {
      socket.close(TOKEN_REVOKED_CLOSE_CODE, 'the API token was revoked');
      setTimeout(() => socket.terminate(), TERMINATE_AFTER_MS).unref();
    }
    this.logger.log(`closed ${set.size} subscription connection(s) of revoked token ${tokenId}`);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.stopListening?.();
  }
}
