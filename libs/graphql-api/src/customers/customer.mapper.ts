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
  return { customerId: c.customerId, from: c.from, to: c.to, reason: c.reason, at: c.at, ruleSetVersion: c.ruleSetVersion, customerVersion: c.customerVersion, removed: c.removed === true };
}

/** Prefixed so that a string that merely decodes as base64 is not taken for a position. */
const CURSOR_PREFIX = 'customer:';

export const encodeCursor = (id: string): string => Buffer.from(CURSOR_PREFIX + id, 'utf8').toString('base64url');

/** The customer id of a cursor this API gave out, or null for anything else (base64 decoding alone accepts nearly any text). */
export function decodeCursor(cursor: string): string | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(CURSOR_PREFIX)) return null;
  const id = text.slice(CURSOR_PREFIX.length);
  return encodeCursor(id) === cursor ? id : null;
}
