import * as z from 'zod/mini';
import { type RouteDef, routeEntries } from './routes';
import { AdmissionTokenHeader, doc, Problem } from './schemas';

/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas with zod's own
 * JSON Schema converter (OpenAPI 3.1 schemas are JSON Schema 2020-12). zod-to-openapi needs zod's
 * classic API, which would add 97 KB to every Lambda; schemas registered with an `id` become
 * components, referenced by `$ref`. `npm run lint:api` checks the result with Redocly, Spectral
 * (OWASP rules, .spectral.yaml) and Prism.
 */
type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

const uri = (id: string) => `#/components/schemas/${id}`;
const INT32 = 2 ** 31;
const options = {
  target: 'draft-2020-12',
  io: 'input',
  unrepresentable: 'any',
  uri,
  // OWASP API4: clients and mock servers size integers by their format
  override: ({ jsonSchema }: { jsonSchema: { type?: unknown; minimum?: number; maximum?: number } }) => {
    if (jsonSchema.type !== 'integer') return;
    const { minimum = -Infinity, maximum = Infinity } = jsonSchema;
    (jsonSchema as { format?: string }).format = minimum >= -INT32 && maximum < INT32 ? 'int32' : 'int64';
  },
} as const;

function toSchema(schema: z.ZodMiniType): JsonSchema {
  const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
  if (id) return { $ref: uri(id) };
  const { $schema: _, ...json } = z.toJSONSchema(schema, options) as JsonSchema;
  return toComponentRefs(json) as JsonSchema;
}

/**
 * A schema converted on its own gets the registered schemas it uses as local `$defs`, referenced
 * as `#/$defs/<id>`, which resolves nowhere once the schema sits inside the document (Prism's
 * MissingPointerError). Every registered schema is a component already: point there instead.
 */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== '$defs')
      .map(([key, v]) => [
        key,
        key === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
          ? uri(v.slice('#/$defs/'.length))
          : toComponentRefs(v),
      ]),
  );
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
  'PG-Signature': doc(z.string().check(z.maxLength(100), z.regex(/^t=\d{1,12},v1=[0-9a-fA-F]{64}$/)), {
    description:
      't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>; missing, malformed, stale (over 300 s) or wrong → 401',
  }),
});
const idempotencyHeader = z.object({
  'Idempotency-Key': z.optional(
    doc(z.string().check(z.minLength(1), z.maxLength(200)), {
      description: 'The same key with the same request replays the first response',
    }),
  ),
});

const ifNoneMatchHeader = z.object({
  'If-None-Match': z.optional(
    doc(z.string().check(z.minLength(1), z.maxLength(1000)), {
      description: 'The `ETag` of the copy the client has: 304 without a body while it is current',
    }),
  ),
});

/** The validators of a route with `cacheControl`, on its 200 and its 304. */
const cacheHeaders = (route: RouteDef) => ({
  ETag: {
    required: true,
    description:
      'Strong validator of this representation (a gzipped body has its own: `-gzip` inside the quotes). Send it back in `If-None-Match`.',
    schema: { type: 'string', maxLength: 100 },
  },
  'Cache-Control': {
    required: true,
    description: 'How long any cache may keep the answer without asking again',
    schema: { type: 'string', const: route.cacheControl },
  },
});

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: toSchema(Problem) } },
});

/** Responses every route shares, once in `components.responses`. */
const sharedResponses = {
  TooManyRequests: {
    description:
      "Throttled by API Gateway's stage-wide token bucket (its rate and burst are set per environment). Back off and retry.",
    headers: {
      'Retry-After': {
        description:
          'Seconds to wait, when the limiter states it. API Gateway’s own throttle does not: then retry after about a second, doubling the wait with jitter.',
        schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 86_400 },
      },
      RateLimit: {
        description:
          'Remaining quota (IETF draft RateLimit header fields), when the limiter states it; API Gateway’s own throttle does not.',
        schema: { type: 'string', maxLength: 200 },
      },
    },
    // API Gateway answers this itself, before any function runs: not a problem document
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: { message: { type: 'string', const: 'Too Many Requests' } },
          required: ['message'],
        },
      },
    },
  },
  Unavailable: {
    ...problem('The database is busy or restarting; nothing was changed. Retry after `Retry-After` seconds.'),
    headers: {
      'Retry-After': {
        required: true,
        description: 'Seconds to wait before retrying',
        schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 86_400 },
      },
    },
  },
  InternalError: problem('Something went wrong on our side; the detail names the request id'),
};
const shared = (name: keyof typeof sharedResponses) => ({ $ref: `#/components/responses/${name}` });

/** Each token kind is its own scheme, so an admin route never reads as open to any customer token. */
const bearer = (who: string) => ({
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: `${who} The JWT is checked as RFC8725 (JWT Best Current Practices) asks: the signature with the issuer's published keys and only the expected algorithm (RS256; never \`none\` or HMAC), the issuer, the audience and the expiry, by API Gateway's JWT authorizer (locally, by the local gateway the same way).`,
});
const securitySchemes = {
  customer: bearer('A token of the identity provider; `sub` identifies the customer.'),
  admin: bearer(
    'A token of the identity provider whose group claim (`cognito:groups` or `groups`) contains `admin`; others get 403.',
  ),
};

const access: Record<RouteDef['auth'], string> = {
  public: 'Public: no token.',
  customer: 'Needs a customer token.',
  admin: 'Needs an administrator token.',
  webhook: 'No token: the payment gateway signs the raw body (`PG-Signature`).',
  local: 'Local server only.',
};

const tags = [
  { name: 'public', description: 'Catalog and seat maps, no token' },
  { name: 'customer', description: 'Orders and payments of the caller' },
  { name: 'admin', description: 'Catalog management and reports' },
  { name: 'webhooks', description: 'Payment gateway callbacks' },
];

/** API Gateway's stage throttle covers every deployed route; the local gateway throttles nothing. */
const throttled = (route: RouteDef) => route.auth !== 'local';

function operation(name: string, route: RouteDef) {
  const secured = route.auth === 'customer' || route.auth === 'admin';
  const headers = [
    route.auth === 'webhook' ? signatureHeader : undefined,
    route.idempotent ? idempotencyHeader : undefined,
    route.admission ? AdmissionTokenHeader : undefined,
    route.headers,
  ];
  return {
    operationId: name,
    summary: route.summary,
    description: [
      access[route.auth],
      route.idempotent ? 'Send an `Idempotency-Key` to make retries safe.' : '',
      route.admission
        ? "While the schedule's waiting room is on, send the `Admission-Token` it gave you once admitted."
        : '',
    ]
      .filter(Boolean)
      .join(' '),
    tags: [route.auth === 'webhook' ? 'webhooks' : route.auth],
    security: secured ? [{ [route.auth]: [] }] : [],
    parameters: [
      ...parameters(route.params, 'path'),
      ...parameters(route.query, 'query'),
      ...headers.flatMap((h) => parameters(h, 'header')),
      ...parameters(route.cacheControl ? ifNoneMatchHeader : undefined, 'header'),
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
        ...(route.cacheControl ? { headers: cacheHeaders(route) } : {}),
        content: { 'application/json': { schema: toSchema(route.response) } },
      },
      ...(route.cacheControl
        ? {
            304: {
              description: 'Not modified: `If-None-Match` names the current `ETag`; no body',
              headers: cacheHeaders(route),
            },
          }
        : {}),
      ...Object.fromEntries(
        Object.entries(route.otherStatuses ?? {}).map(([status, description]) => [
          status,
          { description, content: { 'application/json': { schema: toSchema(route.response) } } },
        ]),
      ),
      400: problem('Malformed or invalid input'),
      ...(secured
        ? { 401: problem('Missing or invalid token'), 404: problem('Not found (or not yours)') }
        : {}),
      ...(route.auth === 'admin' ? { 403: problem('Not an administrator') } : {}),
      ...(route.auth === 'webhook' ? { 401: problem('Bad or stale signature') } : {}),
      ...(route.method !== 'GET'
        ? { 409: problem('Conflict with the current state'), 422: problem('Not allowed by a business rule') }
        : {}),
      ...(route.body
        ? {
            413: problem('The body is larger than this route accepts'),
            415: problem('The body is not application/json'),
          }
        : {}),
      ...(route.needs.includes('internet')
        ? {
            402: problem(
              'The gateway declined the payment (`PAYMENT_DECLINED`, its code in `gatewayCode`); the seats are released',
            ),
            502: problem('The gateway refused the request itself (`GATEWAY_REJECTED`)'),
          }
        : {}),
      ...Object.fromEntries(
        Object.entries(route.problems ?? {}).map(([status, description]) => [status, problem(description)]),
      ),
      ...(throttled(route) ? { 429: shared('TooManyRequests') } : {}),
      500: shared('InternalError'),
      ...(route.needs.includes('database') ? { 503: shared('Unavailable') } : {}),
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
    // relative: the document is served by the API it describes, in every environment
    servers: [
      {
        url: '/',
        description: 'The deployment serving this document (production, dev, or local with `npm start`)',
        'x-internal': false,
      },
    ],
    tags,
    paths,
    components: { schemas, responses: sharedResponses, securitySchemes },
  };
  return cached;
}
