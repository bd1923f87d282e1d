-- Up Migration

-- The in-game path (/sdk/v1): key kinds with rotation, sessions' heartbeats, announcements,
-- player moderation status and the one-time codes that link a game account to Discord.

-- A client key ships inside game clients (player actions only); a server secret stays on game
-- servers (moderation status, announcements). Rotation gives the old key an expiry instead of
-- revoking it, so clients still in the field keep working for the overlap.
alter table game_keys
  add column kind text not null default 'client' check (kind in ('client', 'server')),
  add column expires_at timestamptz,
  add column replaced_by uuid;

drop function gm_resolve_game_key(bytea);
-- SDK requests carry only the game key; unrevoked, unexpired keys only.
create function gm_resolve_game_key(key_hash bytea)
returns table (org_id uuid, game_id uuid, key_id uuid, scopes text[], kind text)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select k.org_id, k.game_id, k.id, k.scopes, k.kind
    from public.game_keys k
   where k.key_hash = gm_resolve_game_key.key_hash
     and k.revoked_at is null
     and (k.expires_at is null or k.expires_at > now())
$$;
revoke all on function gm_resolve_game_key(bytea) from public;
grant execute on function gm_resolve_game_key(bytea) to gamemod_app;

-- Online now = sessions not ended whose last heartbeat is recent.
alter table player_sessions add column last_seen_at timestamptz not null default now();
create index player_sessions_org_id_game_id_last_seen_at_idx
  on player_sessions (org_id, game_id, last_seen_at) where ended_at is null;

create table game_announcements (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  game_id      uuid not null,
  title        text not null check (char_length(title) between 1 and 200),
  body         text not null check (char_length(body) between 1 and 4000),
  published_at timestamptz not null default now(),
  expires_at   timestamptz,
  created_by   uuid references users (id) on delete set null,
  -- a game server's secret that published it (null when staff did)
  created_by_key uuid,
  created_at   timestamptz not null default now(),
  check (expires_at is null or expires_at > published_at),
  unique (org_id, id),
  foreign key (org_id, game_id) references games (org_id, id) on delete cascade
);
create index game_announcements_org_id_game_id_published_at_idx
  on game_announcements (org_id, game_id, published_at desc);

-- One row per player staff acted on; no row means nothing against them.
create table player_moderation (
  org_id       uuid not null references organizations (id) on delete cascade,
  player_id    uuid not null,
  warned       boolean not null default false,
  muted_until  timestamptz,
  banned_until timestamptz,
  reason       text check (char_length(reason) between 1 and 1000),
  -- the report staff acted on, when there was one
  report_id    uuid references player_reports (id) on delete set null,
  updated_by   uuid references users (id) on delete set null,
  updated_at   timestamptz not null default now(),
  primary key (org_id, player_id),
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade
);

-- Asked for by the game, shown to the player, redeemed once with /link in Discord (or by staff).
create table player_link_codes (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  player_id   uuid not null,
  code_hash   bytea not null check (octet_length(code_hash) = 32),
  expires_at  timestamptz not null,
  used_at     timestamptz,
  created_at  timestamptz not null default now(),
  unique (org_id, code_hash),
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade
);
create index player_link_codes_org_id_player_id_idx on player_link_codes (org_id, player_id);

alter table game_announcements enable row level security;
alter table game_announcements force row level security;
create policy tenant_isolation on game_announcements for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table player_moderation enable row level security;
alter table player_moderation force row level security;
create policy tenant_isolation on player_moderation for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table player_link_codes enable row level security;
alter table player_link_codes force row level security;
create policy tenant_isolation on player_link_codes for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on game_announcements, player_moderation, player_link_codes
  to gamemod_app;

-- Down Migration

drop table player_link_codes;
drop table player_moderation;
drop table game_announcements;
drop index player_sessions_org_id_game_id_last_seen_at_idx;
alter table player_sessions drop column last_seen_at;
drop function gm_resolve_game_key(bytea);
create function gm_resolve_game_key(key_hash bytea)
returns table (org_id uuid, game_id uuid, key_id uuid, scopes text[])
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select k.org_id, k.game_id, k.id, k.scopes
    from public.game_keys k
   where k.key_hash = gm_resolve_game_key.key_hash
     and k.revoked_at is null
$$;
revoke all on function gm_resolve_game_key(bytea) from public;
grant execute on function gm_resolve_game_key(bytea) to gamemod_app;
alter table game_keys drop column replaced_by, drop column expires_at, drop column kind;
