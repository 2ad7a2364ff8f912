import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi';
import { routeEntries } from './routes';

describe('GET /openapi.json', () => {
  it('documents every deployed route with its schemas, security and problem responses', () => {
    const doc = openApiDocument() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { security?: unknown[]; responses: Record<string, unknown>; parameters?: { name: string }[] }
        >
      >;
      components: { schemas: Record<string, unknown> };
    };

    expect(doc.openapi).toBe('3.1.0');
    for (const [, route] of routeEntries.filter(([, r]) => r.auth !== 'local')) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(Object.keys(op!.responses)).toContain(String(route.status));
      for (const status of Object.keys(route.otherStatuses ?? {}))
        expect(op!.responses).toHaveProperty(status);
      expect((op!.security ?? []).length > 0).toBe(route.auth === 'customer' || route.auth === 'admin');
    }
    expect(doc.paths['/dev/token']).toBeUndefined();
    // a cancel is accepted and finished in the background: 202, with the same body and its progress
    expect(doc.paths['/admin/schedules/{id}']!.patch!.responses['202']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/AdminSchedule' } } },
    });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Order', 'Problem', 'SeatMap', 'CreateOrder', 'PaymentWebhookEvent']),
    );
    // seat maps for drawing and polling: validators on 200 and 304, If-None-Match accepted
    for (const path of ['/venues/{venueId}/layout', '/schedules/{scheduleId}/seat-status']) {
      const op = doc.paths[path]!.get! as unknown as {
        parameters: { name: string; in: string }[];
        responses: Record<string, { headers?: Record<string, unknown>; content?: unknown }>;
      };
      expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'If-None-Match', in: 'header' }));
      for (const status of ['200', '304'])
        expect(Object.keys(op.responses[status]!.headers!), `${path} ${status}`).toEqual([
          'ETag',
          'Cache-Control',
        ]);
      expect(op.responses['304']!.content).toBeUndefined();
    }
    expect(doc.paths['/orders']!.post!.parameters!.map((p) => p.name)).toContain('Idempotency-Key');
    expect(doc.paths['/webhooks/pg/{provider}']!.post!.parameters!.map((p) => p.name)).toContain(
      'PG-Signature',
    );
  });

  it('resolves every $ref inside the document (Prism failed on #/$defs/Concert)', () => {
    const doc = openApiDocument() as { components: Record<string, Record<string, unknown>> };
    const refs = nodes(doc).flatMap((n) => (typeof n.$ref === 'string' ? [n.$ref] : []));

    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const [, section, name] = /^#\/components\/(\w+)\/(\w+)$/.exec(ref) ?? [];
      expect(section && doc.components[section]?.[name!], ref).toBeDefined();
    }
    expect(nodes(doc).some((n) => '$defs' in n)).toBe(false);
  });

  it('says what OWASP API Security asks: servers, integer formats, throttling, separate admin tokens', () => {
    const doc = openApiDocument() as {
      servers: unknown[];
      paths: Record<string, Record<string, { security: Record<string, unknown>[]; responses: object }>>;
      components: { securitySchemes: Record<string, { description: string }> };
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.values(ops).map((op) => ({ path, ...op })),
    );
    const schemesOf = (admin: boolean) =>
      new Set(
        operations
          .filter((op) => op.path.startsWith('/admin') === admin)
          .flatMap((op) => op.security.flatMap(Object.keys)),
      );

    expect(doc.servers.length).toBeGreaterThan(0);
    expect(
      nodes(doc).filter((n) => n.type === 'integer' && !['int32', 'int64'].includes(n.format as string)),
    ).toEqual([]);
    for (const op of operations)
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['429', '500']));
    expect([...schemesOf(true)].filter((s) => schemesOf(false).has(s))).toEqual([]);
    for (const scheme of Object.values(doc.components.securitySchemes))
      expect(scheme.description).toContain('RFC8725');
  });
});

/** Every object in a JSON value, depth first. */
function nodes(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(nodes);
  if (value === null || typeof value !== 'object') return [];
  return [value as Record<string, unknown>, ...Object.values(value).flatMap(nodes)];
}
