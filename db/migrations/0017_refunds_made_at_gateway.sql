-- Which of a payment's refunds record money the gateway gave back on its own (its console, the card
-- company), as opposed to money our own cancel call gave back under the refund's idempotency key.
-- The gateway reports each cancellation with our key or without one; what it gave back without one
-- is matched against these rows, so it is recorded exactly once (domain/refunds.ts attribution).
alter table payments add column made_at_gateway boolean not null default false;
alter table payments add constraint payments_made_at_gateway_only_when_sent
  check (not made_at_gateway or refund_status = 'sent');

-- Rows recorded so far: a refund settled as made at the gateway says so in its error (an untried
-- refund or a failed one the gateway's cancel explained), or in its refund.sent event (a refusal
-- decided so); a row recorded straight as sent was never claimed by a worker (attempts 0, no error).
update payments r set made_at_gateway = true
where r.status = 'refund' and r.refund_status = 'sent'
  and (r.refund_error like '%made at the gateway%'
       or (r.refund_attempts = 0 and r.refund_error is null)
       or exists (select 1 from outbox o
                  where o.detail_type = 'refund.sent' and (o.detail->>'refundId')::bigint = r.id
                    and (o.detail->>'atGateway')::boolean));
