import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { RedisKeys } from '@app/projection';
import { AccessError } from '../access.errors';
import { Principal } from '../principal';
import { Role } from '../roles';
import { API_TOKEN_DATA_SOURCE, API_TOKEN_REDIS, API_TOKEN_REDIS_KEYS } from './api-token.tokens';

export interface ApiTokenInfo {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

const CACHE_MS = 10_000;
const CACHE_ENTRIES = 10_000;
export const MAX_TOKEN_NAME_LENGTH = 100;
const BIGINT_MAX = 9223372036854775807n;

/**
 * API tokens with roles. Only a SHA-256 of each token is stored: tokens are 32 random bytes, so a
 * slow password hash would add nothing. Lookups are cached for a few seconds per instance; a
 * revocation is announced on Redis so that every instance forgets its cache (and closes the
 * token's subscriptions) at once, and CACHE_MS bounds it if the announcement is lost.
 */
@Injectable()
export class ApiTokenService implements OnApplicationShutdown {
  private readonly logger = new Logger('tokens');
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly revokedListeners = new Set<(tokenId: string) => void>();
  private subscriber?: Promise<Redis>;

  constructor(
    @Inject(API_TOKEN_DATA_SOURCE) private readonly db: DataSource,
    @Inject(API_TOKEN_REDIS) private readonly redis: Redis,
    @Inject(API_TOKEN_REDIS_KEYS) private readonly keys: RedisKeys,
  ) {}

  async create(name: string, role: Role, createdBy: string): Promise<{ token: string; info: ApiTokenInfo }> {
    const clean = name.trim();
    if (clean.length === 0 || clean.length > MAX_TOKEN_NAME_LENGTH || /[\p{Cc}]/u.test(clean)) {
      throw new AccessError('BAD_INPUT', `a token name must be 1 to ${MAX_TOKEN_NAME_LENGTH} characters without control characters, got ${clean.length} characters`);
    }
    const token = `sv_${randomBytes(32).toString('base64url')}`;
    const [row]: TokenRow[] = await this.db.query(
      `INSERT INTO api_token (name, role, token_hash, created_by) VALUES ($1, $2, $3, $4) RETURNING *`,
      [clean, role, hash(token), createdBy],
    );
    return { token, info: toInfo(row) };
  }

  /** True if the token was active. Every instance is told at once (see onRevoked). */
  async revoke(id: string): Promise<boolean> {
    const rows: { id: string }[] = await this.db.query(
      `WITH u AS (UPDATE api_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id) SELECT id FROM u`,
      [tokenId(id)],
    );
    this.forget();
    if (rows.length > 0) {
      // Committed already: if Redis is down, the instances' periodic checks and the lookup
      // cache's expiry still bound how long the token keeps working.
      await this.redis.publish(this.keys.tokenRevokedChannel, JSON.stringify({ id: String(rows[0].id) })).catch((e: Error) => {
        this.logger.warn(`token ${id} is revoked, but announcing it on Redis failed (${e.message}): other instances notice within their check interval`);
      });
    }
    return rows.length > 0;
  }

  /** Of these token ids, the ones that are still active (not revoked, not deleted). */
  async activeIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { id: string }[] = await this.db.query('SELECT id::text AS id FROM api_token WHERE id = ANY($1::bigint[]) AND revoked_at IS NULL', [ids.map(tokenId)]);
    return new Set(rows.map((r) => r.id));
  }

  /** Drops the lookup cache (a token was revoked somewhere). */
  private forget(): void {
    this.cache.clear();
  }

  /**
   * Calls `listener` with the id of every token revoked from now on, by any instance or the CLI,
   * as announced on Redis; this instance's lookup cache is dropped first. Resolves once listening;
   * the function it resolves to stops. An announcement lost while Redis was away is not repeated:
   * check `activeIds` now and then to cover it.
   */
  async onRevoked(listener: (tokenId: string) => void): Promise<() => void> {
    this.revokedListeners.add(listener);
    try {
      await (this.subscriber ??= this.subscribe());
    } catch (e) {
      this.revokedListeners.delete(listener);
      throw e;
    }
    return () => {
      this.revokedListeners.delete(listener);
    };
  }

  private async subscribe(): Promise<Redis> {
    const channel = this.keys.tokenRevokedChannel;
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, lazyConnect: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined); // reconnects by itself; the listeners' periodic checks cover the gap
    subscriber.on('message', (_channel: string, message: string) => {
      this.forget();
      const id = parseAnnouncement(message);
      if (id === null) this.logger.warn(`ignored a malformed token revocation on ${channel}: ${message.slice(0, 100)}`);
      else for (const listener of this.revokedListeners) listener(id);
    });
    try {
      await subscriber.connect();
      await subscriber.subscribe(channel);
    } catch (e) {
      subscriber.disconnect();
      this.subscriber = undefined;
      throw e;
    }
    return subscriber;
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriber = await this.subscriber?.catch(() => undefined);
    subscriber?.disconnect();
  }

  async list(): Promise<ApiTokenInfo[]> {
    const rows: TokenRow[] = await this.db.query('SELECT * FROM api_token ORDER BY id');
    return rows.map(toInfo);
  }

  async verify(token: string): Promise<Principal | null> {
    const key = hash(token);
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const rows: TokenRow[] = await this.db.query('SELECT * FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL', [key]);
    const principal = rows[0] ? { tokenId: String(rows[0].id), name: rows[0].name, role: rows[0].role } : null;
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
    this.cache.set(key, { principal, until: Date.now() + CACHE_MS });
    return principal;
  }
}

/** Token ids are bigserial: anything else is the caller's mistake, not a database error. */
function tokenId(id: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(id) || BigInt(id) > BIGINT_MAX) {
    throw new AccessError('BAD_INPUT', `a token id is a positive integer (see tokens list), got ${JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id)}`);
  }
  return id;
}

function parseAnnouncement(message: string): string | null {
  try {
    const id = (JSON.parse(message) as { id?: unknown }).id;
    return typeof id === 'string' && /^[0-9]{1,19}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

function toInfo(r: TokenRow): ApiTokenInfo {
  return {
    id: String(r.id),
    name: r.name,
    role: r.role,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
  };
}
