import { CustomerView, StatusChangeView } from '@app/projection';
import { Customer, StatusChange } from '../generated/graphql';

/** The GraphQL shape of a customer; `history` is resolved on demand. */
export function toCustomer(view: CustomerView): Customer {
  return { id: view.id, status: view.status, reason: view.reason, statusSince: view.statusSince, updatedAt: view.updatedAt, sources: view.sources };
}

export function toStatusChange(c: StatusChangeView): StatusChange {
  return { from: c.from, to: c.to, reason: c.reason, at: c.at };
}

export const encodeCursor = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
export const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');
