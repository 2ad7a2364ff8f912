import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One logger and one metrics emitter per container, shared by every function. */
export const logger = new Logger({ serviceName: 'ticketing' });
export const metrics = new Metrics({ namespace: 'Ticketing', serviceName: 'ticketing' });
