import { adapterFor } from '../adapters/pg-webhooks';
import { paymentQueue } from '../adapters/ports';
import { routes } from '../routes';
import { httpHandler } from './middleware';

/**
 * POST /webhooks/pg/{provider}: verify, enqueue, answer 202 — nothing else, so the PG gets its
 * answer in milliseconds. A bad signature (401) or a malformed body (400) never reaches the queue.
 */
export const receive = httpHandler(routes.pgWebhook, async ({ params, event, rawBody }) => {
  const notice = await (await adapterFor(params.provider)).verify(event.headers ?? {}, rawBody);
  const receivedAt = new Date().toISOString();
  if (notice.kind === 'event') {
    await paymentQueue().send({ provider: params.provider, event: notice.event, receivedAt });
    return { accepted: true, eventId: notice.event.eventId };
  }
  await paymentQueue().send({ provider: params.provider, lookup: notice.lookup, receivedAt });
  return { accepted: true, eventId: notice.lookup.notificationId };
});
