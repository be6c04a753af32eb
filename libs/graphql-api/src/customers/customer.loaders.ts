import DataLoader from 'dataloader';
import { CustomerReader, CustomerView, ProjectionQueries, StatusChangeView } from '@app/projection';
import { RequestAuth } from '../auth/request-auth';

/** Per-request loaders: every customer lookup of one request is one cache round trip. */
export class CustomerLoaders {
  readonly customer: DataLoader<string, CustomerView | null>;
  readonly historyTrimmed: DataLoader<string, string | null>;
  private readonly histories = new Map<number, DataLoader<string, StatusChangeView[]>>();

  constructor(
    reader: CustomerReader,
    private readonly queries: ProjectionQueries,
  ) {
    this.customer = new DataLoader((ids) => reader.load(ids), { maxBatchSize: 1000 });
    this.historyTrimmed = new DataLoader(async (ids) => {
      const byId = await this.queries.historyTrimmed(ids);
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  history(first: number): DataLoader<string, StatusChangeView[]> {
    let loader = this.histories.get(first);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const byId = await this.queries.history(ids, first);
        return ids.map((id) => byId.get(id) ?? []);
      });
      this.histories.set(first, loader);
    }
    return loader;
  }
}

export interface GraphqlContext {
  loaders: CustomerLoaders;
  auth: RequestAuth;
}
