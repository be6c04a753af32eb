import { GraphQLError } from 'graphql';
import { ApiTokenService, describePrincipal, Principal, Role, ROLE_RANK } from '@app/access';

/** Who is asking: a verified token's principal, nobody, or a token that did not verify. */
export type RequestAuth = { kind: 'token'; principal: Principal } | { kind: 'anonymous' } | { kind: 'invalid' };

export async function authenticate(header: string | undefined, tokens: ApiTokenService): Promise<RequestAuth> {
  if (!header) return { kind: 'anonymous' };
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!m) return { kind: 'invalid' };
  const principal = await tokens.verify(m[1]);
  return principal ? { kind: 'token', principal } : { kind: 'invalid' };
}

/**
 * Throws UNAUTHENTICATED without a valid token, FORBIDDEN with too small a role. Anonymous
 * requests count as viewers only when ALLOW_ANONYMOUS_READS is on.
 */
export function requireRole(auth: RequestAuth, role: Role, allowAnonymousReads: boolean): Principal | null {
  if (auth.kind === 'invalid') throw unauthenticated('the API token is not valid (revoked, mistyped, or not "Bearer <token>")');
  if (auth.kind === 'anonymous') {
    if (role === 'viewer' && allowAnonymousReads) return null;
    throw unauthenticated(`this needs an API token with the ${role} role: send "Authorization: Bearer <token>" (a subscription: {"authorization": "Bearer <token>"} as the connection_init payload)`);
  }
  if (ROLE_RANK[auth.principal.role] < ROLE_RANK[role]) {
    throw new GraphQLError(`this needs the ${role} role; ${describePrincipal(auth.principal)} has ${auth.principal.role}`, {
      extensions: { code: 'FORBIDDEN' },
    });
  }
  return auth.principal;
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });
}
