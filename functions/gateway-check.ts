import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { getSql } from '../db/client';
import { checkClosedAttempts } from '../domain/checkout';
import { bookingLimits } from '../domain/config';
import { gatewayFor } from './adapters/gateways';
import { logger, metrics } from './observability';

/** Invoked every few minutes by EventBridge Scheduler (locally: by a timer). */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    const result = await checkClosedAttempts(getSql(), gatewayFor, bookingLimits());
    metrics.addMetric('ClosedAttemptsChecked', MetricUnit.Count, result.checked);
    metrics.addMetric('ClosedAttemptsApplied', MetricUnit.Count, result.applied);
    logger.info('closed gateway attempts checked', { ...result });
    return result;
  });
