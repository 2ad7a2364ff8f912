-- open_queue runs as its owner (0009): it now creates a sequence only for a schedule that exists, so
-- a role allowed to call it cannot litter the schema with sequences of schedules that never were.
create or replace function open_queue(p_schedule_id bigint) returns void
language plpgsql volatile security definer set search_path = pg_catalog, public
as $$
begin
  if not exists (select 1 from public.schedules where id = p_schedule_id) then
    raise exception 'no schedule %', p_schedule_id using errcode = 'no_data_found';
  end if;
  execute format('create sequence if not exists public.%I as bigint minvalue 1 cache 1',
                 queue_sequence(p_schedule_id));
end
$$;
