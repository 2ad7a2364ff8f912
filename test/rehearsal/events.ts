import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { sign } from '../../functions/adapters/pg-webhooks';
import { routeEntries } from '../../functions/routes';

type JsonSchema = Record<string, any>;

/**
 * A value the schema accepts, built the simplest way: its example when it has one, the first of
 * an enum or a union, the smallest string, number or array allowed, every required property.
 * Ids come out as 1, which the rehearsal's demo data has.
 */
export function sampleOf(schema: JsonSchema, root: JsonSchema = schema): unknown {
  if (schema.$ref) return sampleOf(root.$defs[String(schema.$ref).replace('#/$defs/', '')], root);
  const sample = (s: JsonSchema) => sampleOf(s, root);
  if ('example' in schema) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return sample(alternatives[0]);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map(sample));
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(
        (schema.required ?? []).map((key: string) => [key, sample(schema.properties?.[key] ?? {})]),
      );
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => sample(schema.items ?? {}));
    case 'integer':
    case 'number':
      return Math.max(1, schema.minimum ?? 1);
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (schema.format === 'email') return 'rehearsal@ticketing.example';
      if (schema.format === 'uri') return 'https://ticketing.example/';
      if (schema.format === 'uuid') return randomUUID();
      if (schema.pattern) {
        // a pattern cannot be sampled in general; ordinary values of this API are tried in turn
        const pattern = new RegExp(schema.pattern);
        const found = ['1.00', '1', 'card', 'rehearsal', '2026-12-24'].find((v) => pattern.test(v));
        if (found) return found;
      }
      return 'r'.repeat(Math.max(1, schema.minLength ?? 8));
    default:
      return {};
  }
}

const jsonSchemaOf = (schema: z.ZodMiniType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;

export interface HttpRouteOfTemplate {
  routeKey: string;
  authorizationType: string;
}

/**
 * The API Gateway (HTTP API, payload 2.0) event of one route of the template: path parameters
 * of 1, an administrator's claims where a JWT authorizer sits, a body made from the route's
 * schema, and a PG's signature where the route table says the caller is a PG.
 */
export function httpEvent(route: HttpRouteOfTemplate, webhookKey: () => string | undefined) {
  const [method, path] = route.routeKey.split(' ') as [string, string];
  const pathParameters: Record<string, string> = {};
  const rawPath = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    pathParameters[name] = name === 'provider' ? 'card' : '1';
    return pathParameters[name]!;
  });
  const def = routeEntries.find(([, r]) => `${r.method} ${r.path}` === route.routeKey)?.[1];
  const body = def?.body ? JSON.stringify(sampleOf(jsonSchemaOf(def.body))) : undefined;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'rehearsal' };
  if (def?.auth === 'webhook' && body) {
    const key = webhookKey();
    if (key) headers['pg-signature'] = sign(key, body);
  }
  if (def?.idempotent) headers['idempotency-key'] = randomUUID();
  const now = new Date();
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath,
    rawQueryString: '',
    headers,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'rehearsal',
      domainName: 'rehearsal.execute-api.amazonaws.com',
      domainPrefix: 'rehearsal',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'rehearsal' },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(route.authorizationType === 'JWT'
        ? {
            authorizer: {
              jwt: {
                claims: {
                  sub: 'rehearsal-admin',
                  'cognito:groups': '[admin]',
                  email: 'admin@ticketing.example',
                },
                scopes: [],
              },
            },
          }
        : {}),
    },
    body,
    isBase64Encoded: false,
  };
}

/** An SQS batch as Lambda's event source mapping delivers it. */
export function sqsEvent(
  queueArn: string,
  region: string,
  messages: { body: string; attributes: Record<string, { DataType: string; StringValue?: string }> }[],
) {
  return {
    Records: messages.map((m) => ({
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body: m.body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'rehearsal',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.attributes).map(([k, v]) => [
          k,
          { dataType: v.DataType, stringValue: v.StringValue, stringListValues: [], binaryListValues: [] },
        ]),
      ),
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}
