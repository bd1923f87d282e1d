-- Up Migration

-- gm_outbox_org_features (the relay's "does this org have subscriptions / SLA policies") read
-- every tenant's rows through policies open to the owner role at all times. They now open only
-- while that function runs: it marks its own transaction-local setting, and the policies require
-- the mark. The app role never had these policies; the owner role now has them only there.
create or replace function gm_outbox_org_features(org_ids uuid[])
returns table (org_id uuid, webhooks boolean, sla boolean)
language plpgsql volatile security definer
set search_path = pg_catalog, public
as $$
begin
  perform set_config('gamemod.definer', 'outbox_org_features', true);
  return query
    select o.id,
           exists (select 1 from public.webhook_subscriptions w where w.org_id = o.id and w.enabled),
           exists (select 1 from public.sla_policies p where p.org_id = o.id and p.enabled)
      from unnest(gm_outbox_org_features.org_ids) as o(id);
  perform set_config('gamemod.definer', '', true);
end
$$;

drop policy definer_read on webhook_subscriptions;
drop policy definer_read on sla_policies;
create policy definer_read on webhook_subscriptions for select to current_user
  using (current_setting('gamemod.definer', true) = 'outbox_org_features');
create policy definer_read on sla_policies for select to current_user
  using (current_setting('gamemod.definer', true) = 'outbox_org_features');

-- Down Migration

drop policy definer_read on sla_policies;
drop policy definer_read on webhook_subscriptions;
create policy definer_read on webhook_subscriptions for select to current_user using (true);
create policy definer_read on sla_policies for select to current_user using (true);

create or replace function gm_outbox_org_features(org_ids uuid[])
returns table (org_id uuid, webhooks boolean, sla boolean)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id,
         exists (select 1 from public.webhook_subscriptions w where w.org_id = o.id and w.enabled),
         exists (select 1 from public.sla_policies p where p.org_id = o.id and p.enabled)
    from unnest(gm_outbox_org_features.org_ids) as o(id)
$$;
