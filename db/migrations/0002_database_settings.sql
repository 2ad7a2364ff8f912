-- Time limits for every connection of this database, set once here rather than per transaction:
-- `SET` statements would cost a round trip each and pin sessions in RDS Proxy.
-- A lock wait longer than this is a stuck request, not contention worth waiting for.
do $$
begin
  execute format('alter database %I set lock_timeout = %L', current_database(), '5s');
  execute format('alter database %I set statement_timeout = %L', current_database(), '15s');
  execute format('alter database %I set idle_in_transaction_session_timeout = %L', current_database(), '30s');
end
$$;
