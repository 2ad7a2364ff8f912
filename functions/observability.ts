import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The Powertools service name: the `service` dimension of every metric (alarms match on it). */
export const SERVICE_NAME = 'ticketing';
/** The CloudWatch namespace of every metric (lib/api-stack.ts alarms on some). */
export const METRICS_NAMESPACE = 'Ticketing';

/**
 * The refund worker's count of refunds that failed for good (retries spent, refundStatus `failed`):
 * money owed to a customer. lib/api-stack.ts alarms on any.
 */
export const REFUND_FAILED_METRIC = 'RefundFailed';

/** One logger and one metrics emitter per container, shared by every function. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/**
 * Most invocations emit no metric (a seat-map read, say): that is expected, so the Metrics
 * warning about an empty flush goes to the debug level of our logger instead of the console.
 */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  logger: { ...console, warn: (...args: unknown[]) => logger.debug(String(args[0])) } as never,
});
