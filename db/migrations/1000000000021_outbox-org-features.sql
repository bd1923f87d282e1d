-- Up Migration

-- Lets the relay skip the jobs an event cannot need: no webhook fan-out for an organization
-- without enabled subscriptions, no SLA recompute for one without enabled SLA policies. Returns
-- two booleans per organization id asked about, nothing else.
create policy definer_read on webhook_subscriptions for select to current_user using (true);
create policy definer_read on sla_policies for select to current_user using (true);

create function gm_outbox_org_features(org_ids uuid[])
returns table (org_id uuid, webhooks boolean, sla boolean)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id,
         exists (select 1 from public.webhook_subscriptions w where w.org_id = o.id and w.enabled),
         exists (select 1 from public.sla_policies p where p.org_id = o.id and p.enabled)
    from unnest(gm_outbox_org_features.org_ids) as o(id)
$$;

revoke all on function gm_outbox_org_features(uuid[]) from public;
grant execute on function gm_outbox_org_features(uuid[]) to gamemod_app;

-- Down Migration

drop function gm_outbox_org_features(uuid[]);
drop policy definer_read on sla_policies;
drop policy definer_read on webhook_subscriptions;
