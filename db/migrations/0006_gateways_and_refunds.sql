-- Real payment gateways (Toss Payments, PortOne V2) beside the built-in signed format, and refunds
-- that are executed, not only recorded.

alter table payments drop constraint payments_provider_check;
alter table payments add constraint payments_provider_check
  check (provider in ('card', 'kakao', 'naver', 'toss', 'portone'));
alter table webhook_events drop constraint webhook_events_provider_check;
alter table webhook_events add constraint webhook_events_provider_check
  check (provider in ('card', 'kakao', 'naver', 'toss', 'portone'));

-- The id a gateway knows the attempt by (Toss's orderId, PortOne's paymentId: 6–64 characters of
-- [A-Za-z0-9_-]). Random, so it says nothing about how many payments there are.
alter table payments add column public_id text not null unique
  default ('pay_' || replace(gen_random_uuid()::text, '-', ''))
  check (public_id ~ '^[A-Za-z0-9_-]{6,64}$');

-- A refund row's journey to the gateway: `requested` when recorded, `sent` once the gateway's cancel
-- API accepted it (refund_sent_at), `failed` when the retries ran out (refund_error says why; the
-- reconciliation report lists it and an alarm fires). Only refund rows have one.
alter table payments
  add column refund_status text check (refund_status in ('requested', 'sent', 'failed')),
  add column refund_attempts int not null default 0 check (refund_attempts >= 0),
  add column refund_error text;
update payments set refund_status = case when refund_sent_at is null then 'requested' else 'sent' end
where status = 'refund';
alter table payments add constraint payments_refund_status_only_on_refunds
  check ((status = 'refund') = (refund_status is not null));
create index payments_refunds_unsent on payments (id) where refund_status = 'requested';

-- The order view shows each payment's public id and, for refunds, where the money is.
create or replace function order_json(o orders) returns json
language plpgsql stable parallel safe
as $$
begin
  return json_build_object(
    'id', o.id, 'userId', o.user_id, 'scheduleId', o.schedule_id, 'status', o.status,
    'totalAmount', o.total_amount::text, 'holdExpiresAt', o.hold_expires_at, 'createdAt', o.created_at,
    'items', coalesce((
      select json_agg(json_build_object(
               'id', oi.id, 'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label,
               'number', seat.number, 'price', oi.price::text, 'status', oi.status) order by oi.id)
      from order_items oi
      join schedule_seats ss on ss.id = oi.schedule_seat_id
      join seats seat on seat.id = ss.seat_id
      where oi.order_id = o.id), '[]'),
    'payments', coalesce((
      select json_agg(json_build_object(
               'id', p.id, 'provider', p.provider, 'amount', p.amount::text, 'status', p.status, 'pgTid', p.pg_tid,
               'approvedAt', to_char(p.approved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'refundOf', p.refund_of, 'refundStatus', p.refund_status,
               'refundedAt', to_char(p.refund_sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             order by p.id)
      from payments p
      where p.order_id = o.id), '[]'));
end
$$;
