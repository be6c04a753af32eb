import { Inject, Injectable, Logger } from '@nestjs/common';
import { cacheRequests } from '@app/observability';
import { DataSource } from 'typeorm';
import { CustomerCache } from '../cache/customer.cache';
import { CustomerView } from '../customer-view.model';
import { buildView, CUSTOMER_VIEWS_SQL, CustomerWithRecordsRow, recordsOf } from '../store/customer-view.builder';
import { PROJECTION_DATA_SOURCE } from '../database/projection.tokens';

/**
 * Reads customer views: Redis first, PostgreSQL for what Redis does not have, then refills Redis.
 * If Redis is down, answers come from PostgreSQL alone.
 */
@Injectable()
export class CustomerReader {
  private readonly logger = new Logger(CustomerReader.name);
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly cache: CustomerCache,
    @Inject(PROJECTION_DATA_SOURCE) private readonly db: DataSource,
  ) {}

  get cacheStats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  async load(ids: readonly string[]): Promise<Array<CustomerView | null>> {
    let cached: Array<{ view: CustomerView | null } | undefined>;
    try {
      cached = await this.cache.read(ids);
    } catch (e) {
      this.logger.warn(`cache unavailable, reading from PostgreSQL: ${(e as Error).message}`);
      cached = ids.map(() => undefined);
    }
    const missing = ids.filter((_, i) => cached[i] === undefined);
    this.hits += ids.length - missing.length;
    this.misses += missing.length;
    cacheRequests.inc({ result: 'hit' }, ids.length - missing.length);
    if (missing.length) cacheRequests.inc({ result: 'miss' }, missing.length);
    if (missing.length === 0) return cached.map((c) => c?.view ?? null);
    const loaded = await this.loadFromDatabase(missing);
    const refill = [...loaded.values()].filter((e) => e.version > 0);
    this.cache.write(refill).catch((e: Error) => this.logger.warn(`cache refill failed: ${e.message}`));
    return ids.map((id, i) => cached[i]?.view ?? loaded.get(id)?.view ?? null);
  }

  async loadFromDatabase(ids: readonly string[]): Promise<Map<string, { id: string; version: number; view: CustomerView | null }>> {
    const unique = [...new Set(ids)];
    const customers = (await this.db.query(CUSTOMER_VIEWS_SQL, [unique])) as CustomerWithRecordsRow[];
    const out = new Map<string, { id: string; version: number; view: CustomerView | null }>();
    for (const c of customers) {
      const version = Number(c.version);
      out.set(c.id, { id: c.id, version, view: c.live ? buildView(c, recordsOf(c)) : null });
    }
    return out;
  }
}
