import { Role } from './roles';

/** Who a verified token speaks for. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

/** How audits and messages name a token: names need not be unique, ids are. */
export const describePrincipal = (p: Principal): string => `${p.name} (token ${p.tokenId})`;
