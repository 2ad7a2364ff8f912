import { describe, expect, it } from 'vitest';
import { routes } from '../routes';
import { conditional, NotModified, success, WithStatus } from './responses';

describe('success', () => {
  it("answers with the route's status, or another one the route declares", () => {
    expect(success(routes.updateSchedule, { id: 1 })).toEqual({ status: 200, body: { id: 1 } });
    expect(success(routes.updateSchedule, new WithStatus(202, { id: 1 }))).toEqual({
      status: 202,
      body: { id: 1 },
    });
  });

  it('refuses a status the route does not declare: the OpenAPI document would not say it', () => {
    expect(() => success(routes.updateConcert, new WithStatus(202, {}))).toThrow(/does not declare/);
  });
});

describe('conditional', () => {
  const request = (ifNoneMatch?: string) =>
    ({ headers: ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch } }) as never;
  const answer = async (ifNoneMatch?: string) =>
    success(routes.getVenueLayout, await conditional(request(ifNoneMatch), 'v1', () => ({ a: 1 })));

  it('answers the body with its ETag and Cache-Control, or 304 when If-None-Match names the tag', async () => {
    const headers = { etag: '"v1"', 'cache-control': routes.getVenueLayout.cacheControl };

    expect(await answer()).toEqual({ status: 200, body: { a: 1 }, headers });
    expect(await answer('"v2"')).toMatchObject({ status: 200 });
    expect(await answer('"v1"')).toEqual({ status: 304, body: undefined, headers });
    // weak comparison, in a list, and the gzipped representation's own tag
    expect(await answer('"v0", W/"v1"')).toMatchObject({ status: 304, headers: { etag: '"v1"' } });
    expect(await answer('"v1-gzip"')).toMatchObject({ status: 304, headers: { etag: '"v1-gzip"' } });
    expect(await answer('*')).toMatchObject({ status: 304, headers: { etag: '"v1"' } });
    expect(await answer('"v1-gzip-gzip"')).toMatchObject({ status: 200 });
  });

  it('refuses an ETag from a route that declares no cacheControl', async () => {
    expect(() => success(routes.updateConcert, new NotModified('"x"'))).toThrow(/no cacheControl/);
  });
});
