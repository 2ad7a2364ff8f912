import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { getSql } from '../db/client';
import { relayOutbox } from '../domain/outbox-relay';
import { eventPublisher } from './adapters/ports';
import { logger } from './observability';

/** Invoked on a schedule: drains the outbox to the EventBridge bus. */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const result = await relayOutbox(getSql(), eventPublisher());
    if (result.published || result.failed) logger.info('outbox relayed', result);
    return result;
  });
