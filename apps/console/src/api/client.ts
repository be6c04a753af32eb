import { createClient, type Client } from 'graphql-ws';
import type { RuleProblem } from './generated/graphql';

/**
 * The one way the console talks to statusview: its GraphQL API, at /graphql of the host that
 * served the page (never a fixed host name), with the signed-in token. The API checks every
 * role; the console only hides what a role may not do.
 */
const TOKEN_KEY = 'statusview.token';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly problems: RuleProblem[] = [],
  ) {
    super(message);
  }
}

/** The token lives in this tab's session storage only: never in a URL, gone when the tab closes. */
export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    closeSubscriptions();
  },
};

const endpoint = (): string => new URL('/graphql', window.location.href).href;

interface Response<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; problems?: RuleProblem[] } }>;
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token = session.token): Promise<T> {
  const res = await fetch(endpoint(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  let body: Response<T>;
  try {
    body = (await res.json()) as Response<T>;
  } catch {
    throw new ApiError(`the API answered ${res.status} ${res.statusText} without a GraphQL response`, 'BAD_RESPONSE');
  }
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'ERROR', error.extensions?.problems ?? []);
  if (!body.data) throw new ApiError('the API answered without data', 'BAD_RESPONSE');
  return body.data;
}

let ws: Client | null = null;

/** graphql-ws on the same host; the token goes in the connection payload, as the API expects. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, next: (data: T) => void, error: (e: Error) => void, connected?: () => void): () => void {
  if (!ws) {
    const url = new URL(endpoint());
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = session.token;
    ws = createClient({ url: url.href, connectionParams: token ? { authorization: `Bearer ${token}` } : {}, lazy: true, retryAttempts: 5 });
  }
  const off = connected ? ws.on('connected', connected) : () => undefined;
  const unsubscribe = ws.subscribe<T>(
    { query, variables },
    {
      next: (r) => {
        if (r.data) next(r.data);
        else if (r.errors?.length) error(new Error(r.errors[0].message));
      },
      error: (e) => error(e instanceof Error ? e : new Error('the live connection closed')),
      complete: () => undefined,
    },
  );
  return () => {
    off();
    unsubscribe();
  };
}

function closeSubscriptions(): void {
  void ws?.dispose();
  ws = null;
}
