-- A hold may be extended once (POST /orders/{id}/extend): when it was, so it is not twice.
alter table orders add column extended_at timestamptz;
