import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { getSql } from '../db/client';
import { sweep } from '../domain/sweeper';
import { logger, metrics } from './observability';

/** Invoked every minute by EventBridge Scheduler (locally: by a timer). */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    const result = await sweep(getSql());
    metrics.addMetric('HoldsExpired', MetricUnit.Count, result.ordersExpired);
    metrics.addMetric('SeatsReleased', MetricUnit.Count, result.seatsReleased);
    logger.info('sweep finished', { ...result });
    return result;
  });
