-- Up Migration

-- The audit log keeps at least 365 days whatever the organization's policy says
-- (db/retention.ts AUDIT_LOG_MIN_DAYS): the one function that can delete audit entries never
-- takes one younger than that, so a short policy stored before the minimum existed (or written
-- past the app's checks) cannot wipe the record of recent staff and token actions.
create or replace function gm_purge_audit_logs(before timestamptz, batch integer)
returns integer
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  with doomed as (
    select a.id
      from public.audit_logs a
     where a.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
       and a.created_at < least(gm_purge_audit_logs.before, now() - interval '365 days')
     order by a.created_at
     limit least(greatest(coalesce(gm_purge_audit_logs.batch, 1000), 1), 10000)
  ), gone as (
    delete from public.audit_logs a using doomed d where a.id = d.id
    returning 1
  )
  select count(*)::integer from gone
$$;

-- Down Migration

create or replace function gm_purge_audit_logs(before timestamptz, batch integer)
returns integer
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  with doomed as (
    select a.id
      from public.audit_logs a
     where a.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
       and a.created_at < gm_purge_audit_logs.before
     order by a.created_at
     limit least(greatest(coalesce(gm_purge_audit_logs.batch, 1000), 1), 10000)
  ), gone as (
    delete from public.audit_logs a using doomed d where a.id = d.id
    returning 1
  )
  select count(*)::integer from gone
$$;
