import { ConfigError } from '../config.errors';
import { loadEnvConfig } from './env.config';

describe('environment configuration', () => {
  it('has a limit for every input of a GraphQL request, with defaults', () => {
    const env = loadEnvConfig({});
    expect(env.http.bodyLimit).toBe(1_048_576);
    expect(env.graphql).toEqual({
      maxDepth: 8,
      maxCost: 5000,
      maxQueryLength: 16_384,
      maxTokens: 1000,
      documentCache: 64,
      maxIds: 1000,
      maxPage: 500,
      metricOperations: 100,
      subscriptionAuthCheckMs: 5000,
      allowAnonymousReads: false,
    });
  });

  it('reports every limit that is not a number in its range, together, naming the variable', () => {
    const problems = (() => {
      try {
        loadEnvConfig({ GRAPHQL_MAX_IDS: '0', GRAPHQL_MAX_TOKENS: 'lots', HTTP_BODY_LIMIT: '10', PORT: '70000', GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS: '1.5' });
      } catch (e) {
        return (e as ConfigError).message;
      }
      return '';
    })();
    expect(problems).toMatch(/GRAPHQL_MAX_IDS=0: expected an integer >= 1/);
    expect(problems).toMatch(/GRAPHQL_MAX_TOKENS=lots: expected an integer >= 50/);
    expect(problems).toMatch(/HTTP_BODY_LIMIT=10: expected an integer >= 1024/);
    expect(problems).toMatch(/PORT=70000: expected an integer from 0 to 65535/);
    expect(problems).toMatch(/GRAPHQL_SUBSCRIPTION_AUTH_CHECK_MS=1.5: expected an integer >= 100/);
  });
});
