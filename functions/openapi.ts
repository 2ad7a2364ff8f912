import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi/dist/index.mjs';
import * as z from 'zod';
import { routeEntries } from './routes';
import { Problem } from './schemas';

let cached: object | undefined;

const signatureHeader = z.object({
  'PG-Signature': z
    .string()
    .meta({ description: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>' }),
});
const idempotencyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .max(200)
    .optional()
    .meta({ description: 'The same key with the same request replays the first response' }),
});

/** The OpenAPI 3.1 document, generated from the route table and its zod schemas. */
export function openApiDocument(): object {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: Problem } },
  });

  for (const [name, route] of routeEntries) {
    if (route.auth === 'local') continue;
    const secured = route.auth === 'customer' || route.auth === 'admin';
    registry.registerPath({
      operationId: name,
      method: route.method.toLowerCase() as 'get' | 'post' | 'patch',
      path: route.path,
      summary: route.summary,
      tags: [route.auth === 'webhook' ? 'webhooks' : route.auth],
      security: secured ? [{ [bearer.name]: [] }] : [],
      request: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { query: route.query as never } : {}),
        ...(route.body
          ? {
              body: {
                required: !('bodyOptional' in route),
                content: { 'application/json': { schema: route.body } },
              },
            }
          : {}),
        ...(route.idempotent || route.auth === 'webhook'
          ? {
              headers: route.auth === 'webhook' ? signatureHeader : idempotencyHeader,
            }
          : {}),
      } as never,
      responses: {
        [route.status]: {
          description: 'Success',
          content: { 'application/json': { schema: route.response } },
        },
        400: problem('Malformed or invalid input'),
        ...(secured
          ? { 401: problem('Missing or invalid token'), 404: problem('Not found (or not yours)') }
          : {}),
        ...(route.auth === 'admin' ? { 403: problem('Not an administrator') } : {}),
        ...(route.auth === 'webhook' ? { 401: problem('Bad or stale signature') } : {}),
        ...(route.method !== 'GET'
          ? {
              409: problem('Conflict with the current state'),
              422: problem('Not allowed by a business rule'),
            }
          : {}),
      },
    });
  }
  cached = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Concert ticketing API',
      version: '1.0.0',
      description:
        'Seats held row-locked and all-or-nothing; payments confirmed by signed PG webhooks. Errors are RFC 9457 problem details with a stable `code`.',
    },
  });
  return cached;
}
