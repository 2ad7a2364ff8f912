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
      expect((op!.security ?? []).length > 0).toBe(route.auth === 'customer' || route.auth === 'admin');
    }
    expect(doc.paths['/dev/token']).toBeUndefined();
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Order', 'Problem', 'SeatMap', 'CreateOrder', 'PaymentWebhookEvent']),
    );
    expect(doc.paths['/orders']!.post!.parameters!.map((p) => p.name)).toContain('Idempotency-Key');
    expect(doc.paths['/webhooks/pg/{provider}']!.post!.parameters!.map((p) => p.name)).toContain(
      'PG-Signature',
    );
  });
});
