import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

/**
 * GET /docs on the local server: Scalar's API reference, reading GET /openapi.json. Its standalone
 * browser bundle is served from node_modules, not a CDN, and its web fonts and telemetry are off,
 * so the page works offline. Not in the route table: it is HTML and a script, not a JSON API route,
 * and only the local server serves it (the deployed API serves /openapi.json for any viewer).
 */
export const DOCS_PATH = '/docs';
const SCRIPT_PATH = '/docs/scalar.js';
const bundle = createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js');

const configuration = {
  url: '/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  // its toolbar offers to share or deploy the document through scalar.com
  showDeveloperTools: 'never',
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Concert ticketing API</title>
</head>
<body>
  <div id="app"></div>
  <script src="${SCRIPT_PATH}"></script>
  <script>Scalar.createApiReference('#app', ${JSON.stringify(configuration)});</script>
</body>
</html>
`;

/** Answers GET /docs and its script; false for every other request (the gateway's turn). */
export function serveDocs(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === DOCS_PATH) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : page);
    return true;
  }
  if (path === SCRIPT_PATH) {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(bundle).pipe(res);
    return true;
  }
  return false;
}
