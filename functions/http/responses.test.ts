import { describe, expect, it } from 'vitest';
import { routes } from '../routes';
import { success, WithStatus } from './responses';

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
