import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One logger and one metrics emitter per container, shared by every function. */
export const logger = new Logger({ serviceName: 'ticketing' });

/**
 * Most invocations emit no metric (a seat-map read, say): that is expected, so the Metrics
 * warning about an empty flush goes to the debug level of our logger instead of the console.
 */
export const metrics = new Metrics({
  namespace: 'Ticketing',
  serviceName: 'ticketing',
  logger: { ...console, warn: (...args: unknown[]) => logger.debug(String(args[0])) } as never,
});
