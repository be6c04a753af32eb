import { loadEnvConfig } from './env.config';
import { redactUrl } from './url-redaction';

describe('redactUrl', () => {
  it.each([
    ['postgres://postgres@127.0.0.1:5432/statusview', 'postgres://postgres@127.0.0.1:5432/statusview'],
    ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:***@127.0.0.1:5672'],
    ['redis://:s3cret@127.0.0.1:6379/0', 'redis://:***@127.0.0.1:6379/0'],
    // Not URLs that parse, and printed all the same:
    ['mysql://root:p/w#1@db:3306/billing', 'mysql://root:***@db:3306/billing'],
    ['postgres://me:p@ss@host/db', 'postgres://me:***@host/db'],
    ['root:pw@localhost', 'root:***@localhost'],
    ['not a url', 'not a url'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('URL settings that are refused', () => {
  const problemsOf = (env: Record<string, string>): string => {
    try {
      loadEnvConfig(env);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('the configuration was accepted');
  };

  it.each([
    ['DATABASE_URL', 'mysql://root:pw-db@127.0.0.1:3306/statusview', /DATABASE_URL=mysql:\/\/root:\*\*\*@127\.0\.0\.1:3306\/statusview: expected a postgres: or postgresql: URL/],
    ['AMQP_URL', 'amqp://guest:pw-amqp@[bad-host', /AMQP_URL=amqp:\/\/guest:\*\*\*@\[bad-host: not a URL/],
    ['REDIS_URL', 'redis://:pw-redis/x@127.0.0.1:6379', /REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:6379: not a URL/],
  ])('%s never prints its password', (name, value, message) => {
    const text = problemsOf({ [name]: value });
    expect(text).toMatch(message);
    expect(text).not.toMatch(/pw-/);
  });
});
