import { adapterFor } from '../adapters/pg-webhooks';
import { paymentQueue } from '../adapters/ports';
import { webhookSecret } from '../adapters/webhook-secret';
import { routes } from '../routes';
import { httpHandler } from './middleware';

/**
 * POST /webhooks/pg/{provider}: verify, enqueue, answer 202 — nothing else, so the PG gets its
 * answer in milliseconds. A bad signature (401) or a malformed body (400) never reaches the queue.
 */
export const receive = httpHandler(routes.pgWebhook, async ({ params, event, rawBody }) => {
  const verified = adapterFor(params.provider, await webhookSecret()).verify(event.headers ?? {}, rawBody);
  await paymentQueue().send({
    provider: params.provider,
    event: verified,
    receivedAt: new Date().toISOString(),
  });
  return { accepted: true, eventId: verified.eventId };
});
