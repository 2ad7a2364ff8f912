import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { getSql } from '../db/client';
import { applyCancellationNotice } from '../domain/checkout';
import { bookingLimits } from '../domain/config';
import { parseJson, parseWith } from '../domain/errors';
import { applyGatewayPayment, applyPaymentEvent } from '../domain/payments';
import type { QueuedPaymentEvent } from '../domain/ports';
import { gatewayFor } from './adapters/gateways';
import { logger, metrics } from './observability';
import { QueuedPaymentEventMessage } from './schemas';

const processor = new BatchProcessor(EventType.SQS);

/**
 * Applies each queued PG event in its own transaction. A record that throws is reported back as a
 * batch item failure: SQS redelivers only that one (and after 5 receives moves it to the DLQ).
 */
async function recordHandler(record: SQSRecord): Promise<void> {
  const message = parseMessage(record);
  if ('event' in message) {
    const outcome =
      message.event.type === 'payment.cancelled'
        ? await applyCancellationNotice(
            getSql(),
            message.provider,
            message.event,
            gatewayFor,
            bookingLimits(),
          )
        : await applyPaymentEvent(getSql(), message.provider, message.event, bookingLimits());
    metrics.addMetric(`PaymentEvent_${outcome}`, MetricUnit.Count, 1);
    logger.info('payment event applied', {
      eventId: message.event.eventId,
      paymentId: message.event.paymentId,
      outcome,
    });
    return;
  }
  // The webhook only named the payment: what is applied is what the gateway says when asked. A
  // gateway that cannot answer now throws, and SQS asks again later.
  const gateway = await gatewayFor(message.provider);
  const reported = await gateway.fetch(message.lookup);
  const outcome = await applyGatewayPayment(getSql(), message.provider, reported, bookingLimits());
  metrics.addMetric(`PaymentEvent_${outcome}`, MetricUnit.Count, 1);
  logger.info('gateway payment applied', {
    notificationId: message.lookup.notificationId,
    paymentRef: message.lookup.paymentRef,
    status: reported.status,
    outcome,
  });
}

/**
 * The queued event, validated. A message that is not JSON or not what the webhook receiver enqueues
 * is never applied half-understood, and never dropped: it fails like any other record, so SQS
 * retries it and after maxReceiveCount moves it to the DLQ (alarmed), where nothing is lost.
 */
function parseMessage(record: SQSRecord): QueuedPaymentEvent {
  try {
    return parseWith(QueuedPaymentEventMessage, parseJson(record.body), 'message');
  } catch (error) {
    metrics.addMetric('PaymentEvent_invalid', MetricUnit.Count, 1);
    logger.error('invalid payment event message', {
      messageId: record.messageId,
      receiveCount: record.attributes?.ApproximateReceiveCount,
      // what is wrong with it, field by field; the stack says nothing more
      problem: (error as Error).message,
    });
    throw error;
  }
}

export const handler = middy(async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, recordHandler, processor, { context }),
)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
