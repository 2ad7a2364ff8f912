-- A best-available pick probes the rows of its section, best first, for one with enough free seats
-- (0014's row_has_free_seats) — inside the turnstile, while every other pick of the schedule waits.
-- The probe joined the row's schedule seats with `seats` on section and row label, but not on the
-- venue, and ran with a generic plan. With statistics taken before the schedule was put on sale (any
-- on-sale season: schedules are added between ANALYZEs) that plan read the venue's seats whole and
-- looked each one up in the partial index — 7 ms a row on a 20,000-seat venue, 23 ms a pick once
-- its section's front rows were full, against 0.1 ms. 200 picks queued behind it: the turnstile
-- served 40–150 picks/s.
--
-- The probe now reads schedule_seats alone, through the partial index of available seats (or the
-- (schedule, seat) key for lapsed holds), over the row's seat-id range: no plan can read more than
-- the row. A row's seats have consecutive ids (insertVenueWithSeats numbers them in drawing order);
-- if seats were ever added to a row later, the range would take in other rows' seats and the probe
-- would say "maybe" for a full row — which costs the pick a look at the row, never a wrong seat: the
-- probe only skips rows, and row_free_blocks reads the row exactly. The seat type is asked of each
-- seat by its key, only when the pick filters by it (as `exists`, the generic plan hashed the
-- venue's seats of that type once per probe).
create or replace function row_has_free_seats(
  p_schedule_id bigint,
  p_row venue_rows,
  p_quantity int,
  p_seat_type text,
  p_max_price numeric,
  p_lapsed boolean
) returns boolean
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
declare
  n int;
begin
  if p_lapsed then
    select count(*) into n from (
      select from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
        and seat_is_free(ss)
        and (p_max_price is null or ss.price <= p_max_price)
        and (p_seat_type is null
             or (select seat.seat_type from seats seat where seat.id = ss.seat_id) = p_seat_type)
      limit p_quantity) as free;
  else
    select count(*) into n from (
      select from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
        and ss.status = 'available'
        and (p_max_price is null or ss.price <= p_max_price)
        and (p_seat_type is null
             or (select seat.seat_type from seats seat where seat.id = ss.seat_id) = p_seat_type)
      limit p_quantity) as free;
  end if;
  return n >= p_quantity;
end
$$;
