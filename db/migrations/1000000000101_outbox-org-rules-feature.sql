-- Up Migration

-- The relay enqueues a rules job only for organizations with enabled rules, as it does for
-- webhooks and SLA: gm_outbox_org_features gains a `rules` column, read through the same
-- definer-only policy that opens while the function runs.
drop function gm_outbox_org_features(uuid[]);
create function gm_outbox_org_features(org_ids uuid[])
returns table (org_id uuid, webhooks boolean, sla boolean, rules boolean)
language plpgsql volatile security definer
set search_path = pg_catalog, public
as $$
begin
  perform set_config('gamemod.definer', 'outbox_org_features', true);
  return query
    select o.id,
           exists (select 1 from public.webhook_subscriptions w where w.org_id = o.id and w.enabled),
           exists (select 1 from public.sla_policies p where p.org_id = o.id and p.enabled),
           exists (select 1 from public.rules r where r.org_id = o.id and r.enabled)
      from unnest(gm_outbox_org_features.org_ids) as o(id);
  perform set_config('gamemod.definer', '', true);
end
$$;
revoke all on function gm_outbox_org_features(uuid[]) from public;
grant execute on function gm_outbox_org_features(uuid[]) to gamemod_app;

create policy definer_read on rules for select to current_user
  using (current_setting('gamemod.definer', true) = 'outbox_org_features');

-- Down Migration

drop policy definer_read on rules;
drop function gm_outbox_org_features(uuid[]);
create function gm_outbox_org_features(org_ids uuid[])
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
revoke all on function gm_outbox_org_features(uuid[]) from public;
grant execute on function gm_outbox_org_features(uuid[]) to gamemod_app;
