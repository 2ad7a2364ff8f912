import { parseArgs } from 'node:util';
import { sign } from '../functions/adapters/pg-webhooks';

/**
 * Plays a payment gateway: sends a signed webhook of the built-in format to the local server.
 *   npx tsx scripts/send-webhook.ts --payment 1 --amount 396000.00 [--type payment.failed]
 *     [--provider card|kakao|naver] [--event-id evt-1] [--url http://localhost:3000]
 */
const { values } = parseArgs({
  options: {
    payment: { type: 'string' },
    amount: { type: 'string' },
    type: { type: 'string', default: 'payment.succeeded' },
    provider: { type: 'string', default: 'card' },
    'event-id': { type: 'string' },
    'pg-tid': { type: 'string' },
    url: { type: 'string', default: `http://localhost:${process.env.PORT ?? 3000}` },
    secret: { type: 'string', default: process.env.PG_WEBHOOK_SECRET ?? 'local-webhook-secret' },
  },
});
if (!values.payment || !values.amount) {
  console.error(
    'usage: send-webhook --payment <id> --amount <decimal> [--type payment.failed] [--provider card]',
  );
  process.exit(2);
}
const body = JSON.stringify({
  eventId: values['event-id'] ?? `evt-${Date.now()}`,
  type: values.type,
  paymentId: Number(values.payment),
  pgTid: values['pg-tid'] ?? `pg-${values.payment}`,
  amount: values.amount,
  occurredAt: new Date().toISOString(),
});
const response = await fetch(`${values.url}/webhooks/pg/${values.provider}`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'pg-signature': sign(values.secret!, body) },
  body,
});
console.log(response.status, await response.text());
