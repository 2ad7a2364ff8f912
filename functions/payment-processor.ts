import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { getSql } from '../db/client';
import { applyPaymentEvent } from '../domain/payments';
import type { QueuedPaymentEvent } from '../domain/ports';
import { logger, metrics } from './observability';

const processor = new BatchProcessor(EventType.SQS);

/**
 * Applies each queued PG event in its own transaction. A record that throws is reported back as a
 * batch item failure: SQS redelivers only that one (and after 5 receives moves it to the DLQ).
 */
async function recordHandler(record: SQSRecord): Promise<void> {
  const message = JSON.parse(record.body) as QueuedPaymentEvent;
  const outcome = await applyPaymentEvent(getSql(), message.provider, message.event);
  metrics.addMetric(`PaymentEvent_${outcome}`, MetricUnit.Count, 1);
  logger.info('payment event applied', {
    eventId: message.event.eventId,
    paymentId: message.event.paymentId,
    outcome,
  });
}

export const handler = middy(async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, recordHandler, processor, { context }),
)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
