import type { SQSEvent } from 'aws-lambda';

/** Sends `refund.requested` refunds to the gateways (filled in with the refund domain). */
export const handler = async (_event: SQSEvent) => {
  throw new Error('not implemented yet');
};
