import type { MiddlewareObj } from '@middy/core';
import { AppError } from '../../../domain/errors';
import { now } from '../../adapters/clock';
import { isAdmitted } from '../../adapters/waiting-room-tokens';
import { databaseFor } from '../../database';
import type { RouteDef } from '../../routes';
import { admissionState } from '../../waiting-room';
import type { HttpContext, HttpEvent, HttpResult } from '../middleware';
import { header } from './parse-request';

/**
 * While a schedule's waiting room is on, only fans it admitted may order its seats: the request
 * carries an `Admission-Token` for this fan and this schedule. Checked without a database round
 * trip: a valid token is a signature and an expiry checked here, and needs nothing else (the room
 * admitted this fan; if it has been turned off since, the token is simply not needed). Only a
 * request without a valid token asks whether the room is on, from the container's admission cache
 * (at most a second old, one read per schedule and second): the hold that follows is the request's
 * round trip. Runs after parsing (the body names the schedule) and before the caller's `users`
 * row and the idempotency key, so a refused request writes nothing.
 */
export function admission(route: RouteDef): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    before: async (request) => {
      if (!route.admission) return;
      const input = request.context.input as
        | { body?: { scheduleId?: number }; params?: { scheduleId?: number } }
        | undefined;
      // the schedule is in the body (an order) or in the path (a wait-list)
      const scheduleId = input?.body?.scheduleId ?? input?.params?.scheduleId;
      const sub = request.context.tokenIdentity?.sub;
      if (scheduleId === undefined || sub === undefined) return;
      const at = now();
      const token = header(request.event, 'admission-token');
      if (token !== undefined && (await isAdmitted(token, { sub, scheduleId }, at))) return;
      const db = databaseFor(route, `${route.method} ${route.path}`);
      if (!(await admissionState(db, scheduleId, at))?.enabled) return;
      if (token === undefined) {
        throw new AppError(
          'ADMISSION_REQUIRED',
          "This schedule's waiting room is on: join its queue, and order with the Admission-Token it gives you once admitted",
        );
      }
      throw new AppError(
        'ADMISSION_INVALID',
        'The Admission-Token is expired, forged, or not yours for this schedule: poll the queue for a fresh one',
      );
    },
  };
}
