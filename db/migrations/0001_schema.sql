-- The booking schema of the seed (shared/seed), tightened: NOT NULL where the domain needs a
-- value, a CHECK on every status and on money, an explicit ON DELETE on every foreign key, and the
-- indexes the hot queries use. Sales history is never deleted: orders, items and payments are
-- protected with RESTRICT; a status column says what happened instead.

create table users (
  id bigint generated always as identity primary key,
  -- the JWT subject; a row is created the first time a token is seen
  sub text not null unique check (length(sub) between 1 and 255),
  email text,
  name text,
  phone text,
  created_at timestamptz not null default now()
);

create table concerts (
  id bigint generated always as identity primary key,
  title text not null check (length(title) between 1 and 200),
  artist text not null check (length(artist) between 1 and 200),
  genre text check (length(genre) between 1 and 50),
  description text,
  runtime_minutes int check (runtime_minutes between 1 and 1440),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index concerts_active_genre on concerts (genre, id) where is_active;
create index concerts_active_artist on concerts (artist, id) where is_active;

create table venues (
  id bigint generated always as identity primary key,
  name text not null check (length(name) between 1 and 200),
  address text,
  -- bumped when the seat map changes; schedules copy seats at creation, so old shows keep theirs
  seat_map_version int not null default 1 check (seat_map_version > 0),
  created_at timestamptz not null default now()
);

create table seats (
  id bigint generated always as identity primary key,
  -- a seat map means nothing without its venue (and a venue with schedules cannot be deleted)
  venue_id bigint not null references venues on delete cascade,
  section text not null check (length(section) between 1 and 50),
  row_label text not null check (length(row_label) between 1 and 20),
  number int not null check (number > 0),
  seat_type text not null check (length(seat_type) between 1 and 30),
  base_price numeric(12, 2) not null check (base_price >= 0),
  -- "best first": lower is better (rows nearer the stage, then seats nearer the row's centre)
  rank int not null default 0,
  unique (venue_id, section, row_label, number)
);

create table schedules (
  id bigint generated always as identity primary key,
  -- a concert or venue with performances is history: deactivate it instead of deleting
  concert_id bigint not null references concerts on delete restrict,
  venue_id bigint not null references venues on delete restrict,
  start_at timestamptz not null,
  end_at timestamptz not null,
  status text not null default 'sales_open' check (status in ('sales_open', 'closed', 'cancelled')),
  -- refuse explicit picks that would strand one empty seat between taken ones
  single_seat_rule boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (end_at > start_at)
);
create index schedules_concert on schedules (concert_id, start_at);

create table orders (
  id bigint generated always as identity primary key,
  -- guests are allowed (null); deleting a user anonymises their orders instead of losing sales
  user_id bigint references users on delete set null,
  -- orders are sales history: a schedule that has orders cannot be deleted
  schedule_id bigint not null references schedules on delete restrict,
  total_amount numeric(12, 2) not null check (total_amount >= 0),
  status text not null default 'created'
    check (status in ('created', 'awaiting_payment', 'paid', 'cancelled', 'refunded')),
  -- when the seats stop being reserved for this order (hold TTL, then payment TTL)
  hold_expires_at timestamptz,
  cancel_reason text check (cancel_reason in ('customer', 'expired', 'payment_failed', 'schedule_cancelled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status in ('created', 'awaiting_payment')) = (hold_expires_at is not null))
);
create index orders_user_recent on orders (user_id, id desc);
create index orders_schedule_status on orders (schedule_id, status);

create table schedule_seats (
  id bigint generated always as identity primary key,
  -- a schedule's seat states go with it (a schedule with orders cannot be deleted anyway)
  schedule_id bigint not null references schedules on delete cascade,
  -- the venue's seat map cannot change under a performance that uses it
  seat_id bigint not null references seats on delete restrict,
  status text not null default 'available'
    check (status in ('available', 'held', 'pending_payment', 'booked', 'cancelled')),
  hold_expires_at timestamptz,
  price numeric(12, 2) not null check (price >= 0),
  -- the order that has the seat; cleared when the seat goes back on sale
  order_id bigint references orders on delete restrict,
  -- bumped on every change of the row: lets clients and audits detect a stale read
  version int not null default 1,
  unique (schedule_id, seat_id),
  check ((status in ('held', 'pending_payment')) = (hold_expires_at is not null)),
  check ((status in ('held', 'pending_payment', 'booked')) = (order_id is not null))
);
-- the seed's index; serves the availability counts
create index schedule_seats_status on schedule_seats (schedule_id, status);
-- the sweeper's scan: only rows that can lapse are indexed
create index schedule_seats_lapsing on schedule_seats (hold_expires_at)
  where status in ('held', 'pending_payment');
create index schedule_seats_order on schedule_seats (order_id) where order_id is not null;

create table order_items (
  id bigint generated always as identity primary key,
  -- items are part of their order
  order_id bigint not null references orders on delete cascade,
  -- a sold seat's record outlives any attempt to delete it
  schedule_seat_id bigint not null references schedule_seats on delete restrict,
  price numeric(12, 2) not null check (price >= 0),
  status text not null default 'held' check (status in ('held', 'booked', 'cancelled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index order_items_order on order_items (order_id);
-- The last line of defence against double selling: one live item per performance seat.
create unique index order_items_one_live_per_seat on order_items (schedule_seat_id)
  where status in ('held', 'booked');

create table payments (
  id bigint generated always as identity primary key,
  -- money records are never deleted
  order_id bigint not null references orders on delete restrict,
  provider text not null check (provider in ('card', 'kakao', 'naver')),
  amount numeric(12, 2) not null check (amount >= 0),
  status text not null default 'initiated' check (status in ('initiated', 'success', 'fail', 'refund')),
  pg_tid text,
  approved_at timestamptz,
  -- a refund row points at the payment it gives back
  refund_of bigint references payments on delete restrict,
  -- refunds are recorded here and sent to the PG later; null = not yet sent
  refund_sent_at timestamptz,
  -- why an event was not applied (wrong amount, ...): for the reconciliation report
  flag text,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status = 'refund') = (refund_of is not null))
);
create index payments_order on payments (order_id);
-- at most one open payment attempt per order
create unique index payments_one_open_per_order on payments (order_id) where status = 'initiated';
