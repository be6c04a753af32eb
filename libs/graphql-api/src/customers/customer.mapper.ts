import { CustomerView, StatusChangeView } from '@app/projection';
import { Customer, StatusChange } from '../generated/graphql';

/** A customer as resolvers pass it on: the GraphQL fields, plus what `explanation` needs. */
export type CustomerModel = Omit<Customer, 'explanation' | 'history'> & { ruleSetVersion: number };

/** The GraphQL shape of a customer; `history` and `explanation` are resolved on demand. */
export function toCustomer(view: CustomerView): CustomerModel {
  return {
    id: view.id,
    status: view.status,
    reason: view.reason,
    statusSince: view.statusSince,
    updatedAt: view.updatedAt,
    sources: view.sources,
    ruleSetVersion: view.ruleSetVersion,
  };
}

export function toStatusChange(c: StatusChangeView): StatusChange {
  return { customerId: c.customerId, from: c.from, to: c.to, reason: c.reason, at: c.at, ruleSetVersion: c.ruleSetVersion };
}

export const encodeCursor = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
export const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');
