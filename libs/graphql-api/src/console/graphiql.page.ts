import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * GraphiQL served from this machine (Mercurius's own page loads it from a CDN). GraphiQL 3 with
 * React 18, as Mercurius uses, from their npm packages' UMD builds.
 */
const pkg = (name: string): { dir: string; version: string } => {
  const file = require.resolve(`${name}/package.json`);
  return { dir: dirname(file), version: (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version };
};
const react = pkg('react');
const reactDom = pkg('react-dom');
const graphiql = pkg('graphiql');

/** URL name (under /graphiql/vendor/) → file. */
export const GRAPHIQL_VENDOR = {
  [`react-${react.version}.js`]: join(react.dir, 'umd/react.production.min.js'),
  [`react-dom-${reactDom.version}.js`]: join(reactDom.dir, 'umd/react-dom.production.min.js'),
  [`graphiql-${graphiql.version}.js`]: join(graphiql.dir, 'graphiql.min.js'),
  [`graphiql-${graphiql.version}.css`]: join(graphiql.dir, 'graphiql.min.css'),
} as const;

const names = Object.keys(GRAPHIQL_VENDOR);

export const GRAPHIQL_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>statusview GraphiQL</title>
  <meta name="robots" content="noindex">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/graphiql/vendor/${names[3]}">
  <style>body { margin: 0; overflow: hidden; } #main { height: 100vh; }</style>
</head>
<body>
  <div id="main">Loading GraphiQL…</div>
  <script src="/graphiql/vendor/${names[0]}"></script>
  <script src="/graphiql/vendor/${names[1]}"></script>
  <script src="/graphiql/vendor/${names[2]}"></script>
  <script src="/graphiql/setup.js"></script>
</body>
</html>
`;

/** The endpoint from the page's own address, so that it works from any machine, behind any host name. */
export const GRAPHIQL_SETUP = `/* global React, ReactDOM, GraphiQL */
const url = new URL('/graphql', window.location.href);
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
const fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: subscriptionUrl.href });
ReactDOM.createRoot(document.getElementById('main')).render(
  React.createElement(GraphiQL, {
    fetcher,
    isHeadersEditorEnabled: true,
    defaultHeaders: '{\\n  "authorization": "Bearer <your API token>"\\n}',
  }),
);
`;
