-- Up Migration

-- The relay's look-back reads relayed rows across tenants. It only ever needs the seconds before
-- a Redis outage began, so the function now clamps what it serves: the window ends no later than
-- the database's now() and spans at most ten minutes, whatever the caller asks for.
create or replace function gm_outbox_relayed_between(since timestamptz, until timestamptz, after_id bigint, batch integer)
returns setof public.outbox
language sql stable security definer
set search_path = pg_catalog, public
as $$
  with w as (
    select least(gm_outbox_relayed_between.until, now()) as hi
  )
  select o.*
    from public.outbox o, w
   where o.relayed_at >= greatest(gm_outbox_relayed_between.since, w.hi - interval '10 minutes')
     and o.relayed_at <= w.hi
     and o.id > coalesce(gm_outbox_relayed_between.after_id, 0)
   order by o.id
   limit least(greatest(coalesce(gm_outbox_relayed_between.batch, 100), 1), 1000)
$$;

-- Down Migration

create or replace function gm_outbox_relayed_between(since timestamptz, until timestamptz, after_id bigint, batch integer)
returns setof public.outbox
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.*
    from public.outbox o
   where o.relayed_at >= gm_outbox_relayed_between.since
     and o.relayed_at <= gm_outbox_relayed_between.until
     and o.id > coalesce(gm_outbox_relayed_between.after_id, 0)
   order by o.id
   limit least(greatest(coalesce(gm_outbox_relayed_between.batch, 100), 1), 1000)
$$;
