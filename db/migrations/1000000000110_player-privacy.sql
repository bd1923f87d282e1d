-- Up Migration

-- Per-player export and erase (db/player-privacy.ts, workers/privacy.ts).

insert into permissions (key, description) values
  ('privacy.manage', 'Export everything held about a player, or erase it');

-- Existing organizations' owner and admin roles get the new permission, as new organizations'
-- do (db/permissions.ts); same lift of the force as migration 100.
alter table role_permissions no force row level security;
alter table roles no force row level security;
insert into role_permissions (org_id, role_id, permission_key)
select r.org_id, r.id, 'privacy.manage' from roles r where r.key in ('owner', 'admin')
on conflict do nothing;
alter table roles force row level security;
alter table role_permissions force row level security;

-- A requested export: the workers build the archive (JSON and the player's files) into storage;
-- the API hands out short signed links to it while it is kept.
create table player_exports (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  player_id    uuid not null,
  status       text not null default 'pending' check (status in ('pending', 'ready', 'failed')),
  requested_by uuid references users (id) on delete set null,
  storage_key  text check (char_length(storage_key) between 1 and 1024),
  size_bytes   bigint check (size_bytes >= 0),
  error        text check (char_length(error) between 1 and 2000),
  attempts     integer not null default 0,
  created_at   timestamptz not null default now(),
  finished_at  timestamptz,
  unique (org_id, id),
  check ((status = 'ready') = (storage_key is not null)),
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade
);
create index player_exports_org_id_player_id_idx on player_exports (org_id, player_id, created_at desc);
create index player_exports_pending_idx on player_exports (org_id, created_at) where status = 'pending';

-- Discord messages the bot posted on an erased player's behalf (their game or email messages
-- relayed into a ticket thread), to delete there. Ids only: the erase already removed the text.
create table discord_erasures (
  id                 uuid primary key default gen_random_uuid(),
  org_id             uuid not null references organizations (id) on delete cascade,
  channel_id         text not null check (channel_id ~ '^[0-9]{17,20}$'),
  discord_message_id text not null check (discord_message_id ~ '^[0-9]{17,20}$'),
  status             text not null default 'pending' check (status in ('pending', 'deleted', 'refused')),
  attempts           integer not null default 0,
  error              text check (char_length(error) between 1 and 500),
  created_at         timestamptz not null default now(),
  done_at            timestamptz,
  unique (org_id, channel_id, discord_message_id)
);
create index discord_erasures_pending_idx on discord_erasures (org_id, created_at) where status = 'pending';

alter table player_exports enable row level security;
alter table player_exports force row level security;
create policy tenant_isolation on player_exports for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
alter table discord_erasures enable row level security;
alter table discord_erasures force row level security;
create policy tenant_isolation on discord_erasures for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on player_exports, discord_erasures to gamemod_app;

-- Which organizations have exports to build or Discord messages to delete (the workers' sweep),
-- ids only, keyset-paged like gm_list_orgs.
create policy definer_read on player_exports for select to current_user using (true);
create policy definer_read on discord_erasures for select to current_user using (true);
create function gm_privacy_orgs_pending(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id from public.organizations o
   where (gm_privacy_orgs_pending.after_id is null or o.id > gm_privacy_orgs_pending.after_id)
     and (exists (select 1 from public.player_exports e where e.org_id = o.id and e.status = 'pending')
          or exists (select 1 from public.discord_erasures d where d.org_id = o.id and d.status = 'pending'))
   order by o.id
   limit least(greatest(coalesce(gm_privacy_orgs_pending.batch, 500), 1), 1000)
$$;
revoke all on function gm_privacy_orgs_pending(uuid, integer) from public;
grant execute on function gm_privacy_orgs_pending(uuid, integer) to gamemod_app;

-- History and audit rows are append-only for the app role, yet an erased player's words may sit
-- in their `data` (a subject, a field, a reason). gm_scrub_player_history empties that data on
-- the player's own entries and on their tickets' entries, in the current tenant only; the rows
-- (what happened, when, by whom) stay.
-- (ticket_events' definer_read comes from migration 081; the function filters by tenant itself.)
create policy definer_update on ticket_events for update to current_user
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_update on audit_logs for update to current_user
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

create function gm_scrub_player_history(player_id uuid, ticket_ids uuid[])
returns integer
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  with ev as (
    update public.ticket_events e set data = '{}'::jsonb
     where e.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
       and e.data <> '{}'::jsonb
       and (e.ticket_id = any(gm_scrub_player_history.ticket_ids)
            or (e.actor_type = 'player' and e.actor_id = gm_scrub_player_history.player_id))
    returning 1
  ), au as (
    update public.audit_logs a set data = '{}'::jsonb
     where a.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
       and a.data <> '{}'::jsonb
       and (a.target_id = gm_scrub_player_history.player_id::text
            or a.target_id = any(gm_scrub_player_history.ticket_ids::text[])
            or (a.actor_type = 'player' and a.actor_id = gm_scrub_player_history.player_id))
    returning 1
  )
  select ((select count(*) from ev) + (select count(*) from au))::integer
$$;
revoke all on function gm_scrub_player_history(uuid, uuid[]) from public;
grant execute on function gm_scrub_player_history(uuid, uuid[]) to gamemod_app;

-- Down Migration

drop function gm_scrub_player_history(uuid, uuid[]);
drop function gm_privacy_orgs_pending(uuid, integer);
drop policy definer_update on audit_logs;
drop policy definer_update on ticket_events;
drop table discord_erasures;
drop table player_exports;
alter table role_permissions no force row level security;
delete from role_permissions where permission_key = 'privacy.manage';
alter table role_permissions force row level security;
delete from permissions where key = 'privacy.manage';
