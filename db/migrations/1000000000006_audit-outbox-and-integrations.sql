-- Up Migration

-- The audit log, the transactional outbox and its relay functions, outgoing webhooks,
-- integrations and API idempotency keys.

-- Append-only for the app role; expired entries go through gm_purge_audit_logs.
create table audit_logs (
  id          bigint generated always as identity primary key,
  org_id      uuid not null references organizations (id) on delete cascade,
  actor_type  text not null check (actor_type in ('user', 'player', 'system', 'token')),
  actor_id    uuid,
  action      text not null check (char_length(action) between 1 and 100),
  target_type text check (char_length(target_type) between 1 and 50),
  target_id   text check (char_length(target_id) between 1 and 200),
  data        jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  ip          inet,
  request_id  text check (char_length(request_id) between 1 and 100),
  created_at  timestamptz not null default now()
);
create index audit_logs_org_id_created_at_idx on audit_logs (org_id, created_at desc);
create index audit_logs_org_id_actor_id_created_at_idx on audit_logs (org_id, actor_id, created_at desc);
create index audit_logs_org_id_target_created_at_idx
  on audit_logs (org_id, target_type, target_id, created_at desc);
create index audit_logs_org_id_action_created_at_idx on audit_logs (org_id, action, created_at desc);

-- Domain events, written in the same transaction as the change they describe.
create table outbox (
  id             bigint generated always as identity primary key,
  org_id         uuid not null references organizations (id) on delete cascade,
  event_type     text not null check (char_length(event_type) between 1 and 100),
  aggregate_type text not null check (char_length(aggregate_type) between 1 and 50),
  aggregate_id   uuid,
  payload        jsonb not null,
  created_at     timestamptz not null default now(),
  relayed_at     timestamptz,
  unique (org_id, id)
);
create index outbox_unrelayed_idx on outbox (id) where relayed_at is null;
-- per-tenant pruning of relayed rows
create index outbox_org_id_relayed_at_idx on outbox (org_id, relayed_at) where relayed_at is not null;

-- Wakes the relay (LISTEN gm_outbox). Notifications are sent at commit and identical ones
-- are folded per transaction, so this costs one notification per committing transaction.
create function gm_outbox_notify() returns trigger
language plpgsql
as $$
begin
  perform pg_notify('gm_outbox', '');
  return null;
end
$$;
create trigger outbox_notify after insert on outbox
  for each statement execute function gm_outbox_notify();

create table webhook_subscriptions (
  id                         uuid primary key default gen_random_uuid(),
  org_id                     uuid not null references organizations (id) on delete cascade,
  url                        text not null check (char_length(url) between 10 and 2048 and url ~* '^https?://'),
  description                text check (char_length(description) <= 500),
  event_types                text[] not null check (cardinality(event_types) <= 100),
  -- whsec_ secret, encrypted; the previous one keeps signing until it expires (rotation)
  secret_ciphertext          text not null check (char_length(secret_ciphertext) between 1 and 1000),
  previous_secret_ciphertext text check (char_length(previous_secret_ciphertext) between 1 and 1000),
  previous_secret_expires_at timestamptz,
  enabled                    boolean not null default true,
  disabled_at                timestamptz,
  disabled_reason            text check (char_length(disabled_reason) between 1 and 500),
  -- start of the current run of failures; after five days the endpoint is disabled
  failing_since              timestamptz,
  created_at                 timestamptz not null default now(),
  updated_at                 timestamptz not null default now(),
  unique (org_id, id),
  check ((previous_secret_ciphertext is null) = (previous_secret_expires_at is null))
);
create index webhook_subscriptions_org_id_enabled_idx on webhook_subscriptions (org_id, enabled);
create trigger webhook_subscriptions_touch before update on webhook_subscriptions
  for each row execute function gm_touch_updated_at();

-- Delivery log, one row per attempt. outbox_id is null for test pings.
create table webhook_deliveries (
  id               uuid primary key default gen_random_uuid(),
  org_id           uuid not null references organizations (id) on delete cascade,
  subscription_id  uuid not null,
  outbox_id        bigint,
  event_type       text not null check (char_length(event_type) between 1 and 100),
  -- the webhook-id header: the same for every attempt of one message
  message_id       text not null check (char_length(message_id) between 1 and 100),
  attempt          integer not null default 1 check (attempt >= 1),
  status           text not null default 'pending' check (status in ('pending', 'succeeded', 'failed', 'dead')),
  response_status  integer check (response_status between 100 and 599),
  latency_ms       integer check (latency_ms >= 0),
  response_excerpt text check (char_length(response_excerpt) <= 2000),
  error            text check (char_length(error) <= 2000),
  next_attempt_at  timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  unique (subscription_id, outbox_id, attempt),
  foreign key (org_id, subscription_id) references webhook_subscriptions (org_id, id) on delete cascade,
  -- the delivery log lives as long as the event it delivered
  foreign key (org_id, outbox_id) references outbox (org_id, id) on delete cascade
);
create index webhook_deliveries_org_id_subscription_id_created_at_idx
  on webhook_deliveries (org_id, subscription_id, created_at desc);
create index webhook_deliveries_org_id_outbox_id_idx on webhook_deliveries (org_id, outbox_id)
  where outbox_id is not null;
create index webhook_deliveries_org_id_message_id_idx on webhook_deliveries (org_id, message_id);
create trigger webhook_deliveries_touch before update on webhook_deliveries
  for each row execute function gm_touch_updated_at();

create table integrations (
  id                uuid primary key default gen_random_uuid(),
  org_id            uuid not null references organizations (id) on delete cascade,
  kind              text not null check (char_length(kind) between 1 and 50),
  config            jsonb not null default '{}' check (jsonb_typeof(config) = 'object'),
  secret_ciphertext text check (char_length(secret_ciphertext) between 1 and 10000),
  enabled           boolean not null default true,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);
create index integrations_org_id_kind_idx on integrations (org_id, kind);
create trigger integrations_touch before update on integrations
  for each row execute function gm_touch_updated_at();

-- Idempotency-Key for the REST API. response_status is null while the first request runs.
create table idempotency_keys (
  org_id          uuid not null references organizations (id) on delete cascade,
  key             text not null check (char_length(key) between 1 and 255),
  request_hash    text not null check (char_length(request_hash) between 1 and 128),
  response_status integer check (response_status between 100 and 599),
  response_body   jsonb,
  created_at      timestamptz not null default now(),
  primary key (org_id, key)
);
create index idempotency_keys_org_id_created_at_idx on idempotency_keys (org_id, created_at);

-- ---------------------------------------------------------------------------
-- row-level security and grants
-- ---------------------------------------------------------------------------
alter table audit_logs enable row level security;
alter table audit_logs force row level security;
create policy tenant_isolation on audit_logs for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- gm_purge_audit_logs: the owner, too, only ever touches the current tenant's entries.
create policy definer_read on audit_logs for select to current_user
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_delete on audit_logs for delete to current_user
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table outbox enable row level security;
alter table outbox force row level security;
create policy tenant_isolation on outbox for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- gm_claim_outbox (select ... for update) and gm_mark_outbox_relayed.
create policy definer_read on outbox for select to current_user using (true);
create policy definer_update on outbox for update to current_user using (true) with check (true);

alter table webhook_subscriptions enable row level security;
alter table webhook_subscriptions force row level security;
create policy tenant_isolation on webhook_subscriptions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table webhook_deliveries enable row level security;
alter table webhook_deliveries force row level security;
create policy tenant_isolation on webhook_deliveries for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table integrations enable row level security;
alter table integrations force row level security;
create policy tenant_isolation on integrations for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table idempotency_keys enable row level security;
alter table idempotency_keys force row level security;
create policy tenant_isolation on idempotency_keys for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert on audit_logs to gamemod_app;
grant usage on sequence audit_logs_id_seq to gamemod_app;
grant select, insert, update, delete
  on outbox, webhook_subscriptions, webhook_deliveries, integrations, idempotency_keys
  to gamemod_app;
grant usage on sequence outbox_id_seq to gamemod_app;

-- ---------------------------------------------------------------------------
-- cross-tenant functions (see db/README.md)
-- ---------------------------------------------------------------------------

-- The relay serves every tenant. Call inside a transaction, publish, then
-- gm_mark_outbox_relayed in the same transaction: the row locks keep other relays off
-- these rows until then, and a crash before commit leaves them unrelayed.
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

-- Returns how many of the rows were marked (already-relayed ids are left alone).
create function gm_mark_outbox_relayed(ids bigint[])
returns integer
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  with marked as (
    update public.outbox o
       set relayed_at = now()
     where o.id = any (gm_mark_outbox_relayed.ids)
       and o.relayed_at is null
    returning 1
  )
  select count(*)::integer from marked
$$;

-- Not cross-tenant: deletes the current tenant's (app.org_id) audit entries older than
-- `before`, at most `batch` per call (call until it returns 0). Exists because the app role
-- may not delete from audit_logs.
create function gm_purge_audit_logs(before timestamptz, batch integer)
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

revoke all on function gm_claim_outbox(integer) from public;
revoke all on function gm_mark_outbox_relayed(bigint[]) from public;
revoke all on function gm_purge_audit_logs(timestamptz, integer) from public;
grant execute on function gm_claim_outbox(integer) to gamemod_app;
grant execute on function gm_mark_outbox_relayed(bigint[]) to gamemod_app;
grant execute on function gm_purge_audit_logs(timestamptz, integer) to gamemod_app;

-- Down Migration

drop function gm_purge_audit_logs(timestamptz, integer);
drop function gm_mark_outbox_relayed(bigint[]);
drop function gm_claim_outbox(integer);
drop table idempotency_keys;
drop table integrations;
drop table webhook_deliveries;
drop table webhook_subscriptions;
drop trigger outbox_notify on outbox;
drop table outbox;
drop function gm_outbox_notify();
drop table audit_logs;
