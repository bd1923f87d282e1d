-- Up Migration

-- Several relays claim outbox rows with SKIP LOCKED, so one relay can hold an organization's
-- earlier rows while another claims its later ones and publishes them first. A relay now asks,
-- for the rows it claimed, which have an earlier unrelayed row of the same organization outside
-- its claim (held by another relay, or not yet visible): it leaves those for a later batch, so an
-- organization's events are published in outbox order. Returns only ids it was given.
create index outbox_org_unrelayed_idx on outbox (org_id, id) where relayed_at is null;

create function gm_outbox_blocked(ids bigint[])
returns setof bigint
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select c.id
    from public.outbox c
   where c.id = any(gm_outbox_blocked.ids)
     and exists (select 1 from public.outbox p
                  where p.org_id = c.org_id and p.relayed_at is null and p.id < c.id
                    and not (p.id = any(gm_outbox_blocked.ids)))
$$;

revoke all on function gm_outbox_blocked(bigint[]) from public;
grant execute on function gm_outbox_blocked(bigint[]) to gamemod_app;

-- Down Migration

drop function gm_outbox_blocked(bigint[]);
drop index outbox_org_unrelayed_idx;
