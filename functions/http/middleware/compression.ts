import { gzipSync } from 'node:zlib';
import type { MiddlewareObj } from '@middy/core';
import type { HttpContext, HttpEvent, HttpResult } from '../middleware';
import { GZIP_TAG_SUFFIX } from '../responses';
import { header } from './parse-request';

const COMPRESS_FROM_BYTES = 16 * 1024;

/**
 * Large bodies (a 50,000-seat map is ~5 MB of JSON, close to Lambda's 6 MB response limit) are
 * gzipped when the client accepts it: API Gateway passes a base64 body with its encoding through.
 * Problem documents (onError) and idempotent responses (small, and sent exactly as stored) are
 * left alone.
 *
 * Not @middy/http-content-encoding: it compresses every body, prefers brotli when offered and
 * needs @middy/http-content-negotiation in front of it.
 */
export function compression(): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    after: (request) => {
      const result = request.response;
      if (!result || result.headers?.['idempotency-key'] !== undefined) return;
      request.response = gzipped(request.event, result);
    },
  };
}

function gzipped(event: HttpEvent, result: HttpResult): HttpResult {
  const body = result.body ?? '';
  if (body.length < COMPRESS_FROM_BYTES || !/\bgzip\b/.test(header(event, 'accept-encoding') ?? ''))
    return result;
  const etag = result.headers?.etag;
  return {
    ...result,
    headers: {
      ...result.headers,
      'content-encoding': 'gzip',
      vary: 'accept-encoding',
      // the gzipped bytes are another representation: a strong tag must not name both
      ...(typeof etag === 'string' ? { etag: etag.replace(/"$/, `${GZIP_TAG_SUFFIX}"`) } : {}),
    },
    body: gzipSync(body, { level: 1 }).toString('base64'),
    isBase64Encoded: true,
  };
}
