-- Up Migration

-- The relay's claim and look-back returned whole outbox rows of every organization, payloads
-- included, to any caller with the app role: a bug anywhere in the app that called them (or
-- called them for the wrong reason) handed out other tenants' events. Like every other
-- cross-tenant function, they now answer only what the caller needs to then open each tenant:
-- the ids and their organizations. The relay reads the rows themselves with each organization's
-- tenant set, under row-level security, in the claiming transaction (db/outbox.ts).
-- The return types change, so the functions are dropped and created again.

drop function gm_claim_outbox(integer);
create function gm_claim_outbox(batch integer)
returns table (id bigint, org_id uuid)
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  select o.id, o.org_id
    from public.outbox o
   where o.relayed_at is null
   order by o.id
   limit least(greatest(coalesce(gm_claim_outbox.batch, 100), 1), 1000)
     for update skip locked
$$;

drop function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer);
create function gm_outbox_relayed_between(since timestamptz, until timestamptz, after_id bigint, batch integer)
returns table (id bigint, org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  with w as (
    select least(gm_outbox_relayed_between.until, now()) as hi
  )
  select o.id, o.org_id
    from public.outbox o, w
   where o.relayed_at >= greatest(gm_outbox_relayed_between.since, w.hi - interval '10 minutes')
     and o.relayed_at <= w.hi
     and o.id > coalesce(gm_outbox_relayed_between.after_id, 0)
   order by o.id
   limit least(greatest(coalesce(gm_outbox_relayed_between.batch, 100), 1), 1000)
$$;

revoke all on function gm_claim_outbox(integer) from public;
revoke all on function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer) from public;
grant execute on function gm_claim_outbox(integer) to gamemod_app;
grant execute on function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer) to gamemod_app;

-- Down Migration

drop function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer);
create function gm_outbox_relayed_between(since timestamptz, until timestamptz, after_id bigint, batch integer)
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

drop function gm_claim_outbox(integer);
create function gm_claim_outbox(batch integer)
returns setof public.outbox
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  select o.*
    from public.outbox o
   where o.relayed_at is null
   order by o.id
   limit least(greatest(coalesce(gm_claim_outbox.batch, 100), 1), 1000)
     for update skip locked
$$;

revoke all on function gm_claim_outbox(integer) from public;
revoke all on function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer) from public;
grant execute on function gm_claim_outbox(integer) to gamemod_app;
grant execute on function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer) to gamemod_app;
