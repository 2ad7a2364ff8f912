import { AppError } from '../../domain/errors';
import { joinQueue as joinQueue_, queueStatus as queueStatus_ } from '../../domain/waiting-room';
import { now } from '../adapters/clock';
import { positionOf, signAdmissionToken, signQueueToken } from '../adapters/waiting-room-tokens';
import { routes } from '../routes';
import { admissionState } from '../waiting-room';
import { httpHandler } from './middleware';
import { WithStatus } from './responses';

export const joinQueue = httpHandler(routes.joinQueue, async ({ db, caller, identity, params }) => {
  const at = now();
  const { scheduleId } = params;
  const { position, again } = await joinQueue_(db, scheduleId, caller.id);
  const state = await admissionState(db, scheduleId, at);
  const joined = {
    position,
    queueToken: await signQueueToken({ sub: identity.sub, scheduleId }, position, at),
    estimatedWaitSeconds: state ? queueStatus_(state, position, at).estimatedWaitSeconds : 0,
  };
  return again ? new WithStatus(200, joined) : joined;
});

/**
 * A poll: the position is the queue token's, the admission state is the container's cached one,
 * and nothing is written — no `users` row either (`identityOnly`).
 */
export const queueStatus = httpHandler(routes.queueStatus, async ({ db, identity, params, headers }) => {
  const at = now();
  const binding = { sub: identity.sub, scheduleId: params.scheduleId };
  const position = await positionOf(headers['Queue-Token'], binding, at);
  if (position === undefined) {
    throw new AppError(
      'QUEUE_TOKEN_INVALID',
      'The Queue-Token is not yours, not for this schedule, forged or expired: join the queue again',
    );
  }
  const state = await admissionState(db, params.scheduleId, at);
  if (!state) throw new AppError('NOT_FOUND', `Schedule ${params.scheduleId} not found`);
  const { admitted, ...status } = queueStatus_(state, position, at);
  return admitted ? { ...status, admissionToken: await signAdmissionToken(binding, at) } : status;
});
