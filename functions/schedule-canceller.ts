import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getSql } from '../db/client';
import { settleCancelledSchedules } from '../domain/schedules';
import { logger, metrics } from './observability';

/**
 * Time left at which a run takes no further order: one order's transaction at its slowest (a lock
 * wait of up to 5 s, statements of up to 15 s: db/migrations/0002) still ends before the timeout.
 */
export const STOP_WITH_MS_LEFT = 20_000;

/**
 * Invoked every minute by EventBridge Scheduler (locally: by a timer). Settles the orders of
 * cancelled schedules until none is left or its time is nearly up; the next run goes on from what
 * the data says is left, so a 50,000-seat show takes a few runs.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (_event: unknown, context: Context) => {
    const result = await settleCancelledSchedules(getSql(), {
      keepGoing: () => context.getRemainingTimeInMillis() > STOP_WITH_MS_LEFT,
    });
    metrics.addMetric('ScheduleOrdersCancelled', MetricUnit.Count, result.ordersCancelled);
    metrics.addMetric('ScheduleOrdersRefunded', MetricUnit.Count, result.ordersRefunded);
    const { failed, ...counts } = result;
    if (counts.ordersCancelled || counts.ordersRefunded || failed.length) {
      logger.info('orders of cancelled schedules settled', { ...counts, failed: failed.length });
    }
    for (const f of failed) logger.error('an order of a cancelled schedule could not be settled', f);
    // the function's error alarm: an order the next runs keep failing on needs an operator
    if (failed.length) {
      throw new Error(
        `${failed.length} orders of cancelled schedules could not be settled; the next run retries them`,
      );
    }
    return result;
  });
