-- Up Migration

-- The relay's look-back after a Redis outage. A Redis killed hard (AOF fsync every second) can
-- lose the last writes it acknowledged, among them jobs for rows already marked relayed. After
-- reconnecting, the relay re-enqueues the jobs of the rows relayed shortly before the outage;
-- every job id derives from the outbox id and every processor is idempotent, so a job that did
-- survive is a no-op. Keyset-paged by id, batch clamped to 1..1000.
create function gm_outbox_relayed_between(since timestamptz, until timestamptz, after_id bigint, batch integer)
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

-- The look-back reads a few seconds of relayed rows across tenants.
create index outbox_relayed_at_idx on outbox (relayed_at) where relayed_at is not null;

revoke all on function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer) from public;
grant execute on function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer) to gamemod_app;

-- Down Migration

drop index outbox_relayed_at_idx;
drop function gm_outbox_relayed_between(timestamptz, timestamptz, bigint, integer);
