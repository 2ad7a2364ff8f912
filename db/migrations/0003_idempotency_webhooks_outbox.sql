-- Idempotency-Key: the first response to (user, key) is replayed for the same request.
create table idempotency_keys (
  -- a user's keys go with the user
  user_id bigint not null references users on delete cascade,
  key text not null check (length(key) between 1 and 200),
  -- method, path and body hashed: the same key with another request is refused
  request_hash text not null,
  response_status int not null,
  response_body jsonb not null,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);
create index idempotency_keys_created on idempotency_keys (created_at);

-- Each PG event is applied once: the row is written in the transaction that applies it.
create table webhook_events (
  id bigint generated always as identity primary key,
  provider text not null check (provider in ('card', 'kakao', 'naver')),
  event_id text not null check (length(event_id) between 1 and 200),
  type text not null check (type in ('payment.succeeded', 'payment.failed', 'payment.cancelled')),
  -- no FK: an event may name a payment that does not exist; it is recorded and ignored
  payment_id bigint,
  outcome text not null,
  payload jsonb not null,
  processed_at timestamptz not null default now(),
  unique (provider, event_id)
);

-- Transactional outbox: domain events written with the change, published to the bus later.
create table outbox (
  id bigint generated always as identity primary key,
  detail_type text not null,
  detail jsonb not null,
  created_at timestamptz not null default now(),
  attempts int not null default 0,
  published_at timestamptz
);
create index outbox_pending on outbox (id) where published_at is null;
