import * as z from 'zod/mini';
import { type RouteDef, routeEntries } from './routes';
import { doc, Problem } from './schemas';

/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas with zod's own
 * JSON Schema converter (OpenAPI 3.1 schemas are JSON Schema 2020-12). zod-to-openapi needs zod's
 * classic API, which would add 97 KB to every Lambda; schemas registered with an `id` become
 * components, referenced by `$ref`.
 */
type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

const uri = (id: string) => `#/components/schemas/${id}`;
const options = { target: 'draft-2020-12', io: 'input', unrepresentable: 'any', uri } as const;

function toSchema(schema: z.ZodMiniType): JsonSchema {
  const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
  if (id) return { $ref: uri(id) };
  const { $schema: _, ...json } = z.toJSONSchema(schema, options) as JsonSchema;
  return json;
}

/** An object schema's fields as OpenAPI parameters. */
function parameters(schema: z.ZodMiniType | undefined, where: 'path' | 'query' | 'header') {
  if (!schema) return [];
  const json = toSchema(schema);
  return Object.entries(json.properties ?? {}).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: field,
    ...((field as { description?: string }).description
      ? { description: (field as { description: string }).description }
      : {}),
  }));
}

const signatureHeader = z.object({
  'PG-Signature': doc(z.string(), {
    description: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>',
  }),
});
const idempotencyHeader = z.object({
  'Idempotency-Key': z.optional(
    doc(z.string().check(z.maxLength(200)), {
      description: 'The same key with the same request replays the first response',
    }),
  ),
});

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: toSchema(Problem) } },
});

function operation(name: string, route: RouteDef) {
  const secured = route.auth === 'customer' || route.auth === 'admin';
  const headers =
    route.auth === 'webhook' ? signatureHeader : route.idempotent ? idempotencyHeader : undefined;
  return {
    operationId: name,
    summary: route.summary,
    tags: [route.auth === 'webhook' ? 'webhooks' : route.auth],
    security: secured ? [{ bearer: [] }] : [],
    parameters: [
      ...parameters(route.params, 'path'),
      ...parameters(route.query, 'query'),
      ...parameters(headers, 'header'),
    ],
    ...(route.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: { 'application/json': { schema: toSchema(route.body) } },
          },
        }
      : {}),
    responses: {
      [route.status]: {
        description: 'Success',
        content: { 'application/json': { schema: toSchema(route.response) } },
      },
      400: problem('Malformed or invalid input'),
      ...(secured
        ? { 401: problem('Missing or invalid token'), 404: problem('Not found (or not yours)') }
        : {}),
      ...(route.auth === 'admin' ? { 403: problem('Not an administrator') } : {}),
      ...(route.auth === 'webhook' ? { 401: problem('Bad or stale signature') } : {}),
      ...(route.method !== 'GET'
        ? { 409: problem('Conflict with the current state'), 422: problem('Not allowed by a business rule') }
        : {}),
    },
  };
}

let cached: object | undefined;

export function openApiDocument(): object {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, route] of routeEntries) {
    if (route.auth === 'local') continue;
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(name, route);
  }
  const schemas = Object.fromEntries(
    Object.entries(z.toJSONSchema(z.globalRegistry, options).schemas).map(
      ([id, { $schema: _, $id: __, ...json }]) => [id, json],
    ),
  );
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Concert ticketing API',
      version: '1.0.0',
      description:
        'Seats held row-locked and all-or-nothing; payments confirmed by signed PG webhooks. Errors are RFC 9457 problem details with a stable `code`.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
  return cached;
}
