import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { getSql } from '../db/client';
import { advanceWaitingRooms } from '../domain/waiting-room';
import { now } from './adapters/clock';
import { logger } from './observability';

/** Invoked every minute by EventBridge Scheduler (locally: by a timer). */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const result = await advanceWaitingRooms(getSql(), now());
    if (result.rooms) logger.info('waiting rooms advanced', { ...result });
    return result;
  });
