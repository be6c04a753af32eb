import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '@app/config';
import { GRAPHIQL_PAGE, GRAPHIQL_SETUP, GRAPHIQL_VENDOR } from './graphiql.page';

/** Where `npm run build` (Vite) writes the console; file names under assets/ carry a content hash. */
export const CONSOLE_DIR = join(projectRoot(), 'dist/console');
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The analysts' console at /console and GraphiQL at /graphiql, both from this machine's files:
 * no CDN, since legacy estates often run without internet. Hashed assets are cached for a year;
 * index.html is revalidated every time, so a new build is picked up at once.
 */
export async function registerConsoleRoutes(fastify: FastifyInstance): Promise<void> {
  const built = existsSync(join(CONSOLE_DIR, 'index.html'));
  const vendor = new Set<string>(Object.values(GRAPHIQL_VENDOR));
  const assets = join(CONSOLE_DIR, 'assets');
  // One registration serves the console and gives reply.sendFile to the GraphiQL files below.
  await fastify.register(fastifyStatic, {
    root: built ? CONSOLE_DIR : projectRoot(),
    serve: built,
    prefix: '/console/',
    index: ['index.html'],
    cacheControl: false,
    // The versions are in the vendor files' paths (see graphiql.page.ts): they never change under it.
    setHeaders: (reply, path) => reply.header('cache-control', path.startsWith(assets) || vendor.has(path) ? IMMUTABLE : 'no-cache'),
  });
  fastify.get('/console', (_req, reply) =>
    built ? reply.redirect('/console/', 301) : reply.code(503).type('text/plain').send('the console is not built: run `npm run build`\n'),
  );

  fastify.get('/graphiql', (_req, reply) => reply.header('cache-control', 'no-cache').type('text/html').send(GRAPHIQL_PAGE));
  fastify.get('/graphiql/setup.js', (_req, reply) => reply.header('cache-control', 'no-cache').type('text/javascript').send(GRAPHIQL_SETUP));
  for (const [name, file] of Object.entries(GRAPHIQL_VENDOR)) {
    fastify.get(`/graphiql/vendor/${name}`, (_req, reply) => reply.sendFile(basename(file), dirname(file)));
  }
}
