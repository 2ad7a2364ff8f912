import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import type { WebConfig } from '../web/shared/config';

/**
 * The web app on the local server, beside the API: the fan app at `/`, the console at `/console/`,
 * their files under `/assets/` and the app's settings at `/config.json` — paths no API route uses
 * (the apps route by `#/…`, so nothing else needs to fall back to index.html). Built by
 * scripts/build-web.ts into web/dist/; in AWS, S3 and CloudFront serve the same files.
 */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/console/': 'console/index.html',
  '/console/index.html': 'console/index.html',
};

export function serveWeb(dist: string, config: WebConfig) {
  const settings = JSON.stringify(config);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/console') {
      res.writeHead(301, { location: '/console/' });
      res.end();
      return true;
    }
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json']!, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : settings);
      return true;
    }
    const page = PAGES[path];
    const asset = path.startsWith('/assets/') ? normalize(path.slice(1)) : undefined;
    if (!page && !(asset?.startsWith('assets/') && !asset.includes('..'))) return false;
    void sendFile(
      res,
      req.method,
      join(dist, page ?? asset!),
      page ? 'no-cache' : 'public, max-age=31536000, immutable',
    );
    return true;
  };
}

async function sendFile(res: ServerResponse, method: string, file: string, cacheControl: string) {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      file.endsWith('.html')
        ? 'The web app is not built: run `npx tsx scripts/build-web.ts` (npm start does).'
        : '',
    );
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  });
  if (method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** Tries each handler in turn; true once one answered. */
export const firstOf =
  (...handlers: ((req: IncomingMessage, res: ServerResponse) => boolean)[]) =>
  (req: IncomingMessage, res: ServerResponse): boolean =>
    handlers.some((handle) => handle(req, res));
