import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { getSql } from '../db/client';
import { bookingLimits } from '../domain/config';
import { parseJson, parseWith } from '../domain/errors';
import { applyGatewayPayment } from '../domain/payments';
import { sendRefund } from '../domain/refunds';
import { gatewayFor } from './adapters/gateways';
import { logger, metrics, REFUND_FAILED_METRIC } from './observability';
import { RefundRequestedMessage } from './schemas';

const processor = new BatchProcessor(EventType.SQS);

/**
 * Sends each requested refund to its gateway. The queue is fed by the bus rule on
 * `refund.requested` (the outbox relay publishes it), so each message is an EventBridge event. A
 * refund the gateway could not take now is reported as a batch item failure: SQS hands it back after
 * the visibility timeout (the pause between attempts), and after MAX_REFUND_ATTEMPTS the refund is
 * marked `failed` — counted in `RefundFailed`, which raises the alarm — rather than retried forever.
 */
async function recordHandler(record: SQSRecord): Promise<void> {
  const { detail } = parseMessage(record);
  const { outcome, error, reported } = await sendRefund(getSql(), detail.refundId, gatewayFor);
  // refused (or, redelivered, settled by a refusal): the gateway's word is applied now, as its
  // notice would be — the notice may be lost, and the worker that decided may have stopped first
  if (reported) {
    await applyGatewayPayment(
      getSql(),
      reported.provider,
      reported.payment,
      bookingLimits(),
      `refund-${detail.refundId}`,
    );
  }
  metrics.addMetric(`Refund_${outcome}`, MetricUnit.Count, 1);
  // the alarm on a refund given up on watches this metric (lib/api-stack.ts)
  if (outcome === 'failed') metrics.addMetric(REFUND_FAILED_METRIC, MetricUnit.Count, 1);
  logger.info('refund handled', { refundId: detail.refundId, outcome, error });
  if (outcome === 'retry') throw new Error(`Refund ${detail.refundId} not sent yet: ${error}`);
}

function parseMessage(record: SQSRecord) {
  try {
    return parseWith(RefundRequestedMessage, parseJson(record.body), 'message');
  } catch (error) {
    metrics.addMetric('Refund_invalid', MetricUnit.Count, 1);
    logger.error('invalid refund message', {
      messageId: record.messageId,
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
