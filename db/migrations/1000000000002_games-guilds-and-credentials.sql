-- Up Migration

-- Games and their SDK keys, linked Discord guilds, API tokens, and the cross-tenant
-- look-ups that turn an incoming guild id, game key or token into an organization.

create table games (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  name        text not null check (char_length(name) between 1 and 100),
  slug        text not null check (slug ~ '^[a-z0-9-]{1,50}$'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (org_id, slug),
  unique (org_id, id)
);
create trigger games_touch before update on games
  for each row execute function gm_touch_updated_at();

create table game_keys (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  game_id      uuid not null,
  name         text not null check (char_length(name) between 1 and 100),
  -- the visible start of the key, so staff can tell keys apart; the key itself is never stored
  prefix       text not null check (char_length(prefix) between 1 and 32),
  key_hash     bytea not null unique check (octet_length(key_hash) between 16 and 64),
  scopes       text[] not null default '{}' check (cardinality(scopes) <= 64),
  created_by   uuid references users (id) on delete set null,
  created_at   timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at   timestamptz,
  unique (org_id, id),
  foreign key (org_id, game_id) references games (org_id, id) on delete cascade
);
create index game_keys_org_id_game_id_idx on game_keys (org_id, game_id);

-- A guild links to exactly one organization (guild_id is globally unique).
create table discord_guilds (
  id         uuid primary key default gen_random_uuid(),
  org_id     uuid not null references organizations (id) on delete cascade,
  guild_id   text not null unique check (char_length(guild_id) between 1 and 32),
  name       text not null check (char_length(name) between 1 and 100),
  -- support channel, ticket mode per category, alert and transcript channels, limits
  settings   jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  linked_at  timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, guild_id)
);
create trigger discord_guilds_touch before update on discord_guilds
  for each row execute function gm_touch_updated_at();

create table discord_role_mappings (
  org_id          uuid not null references organizations (id) on delete cascade,
  guild_id        text not null,
  discord_role_id text not null check (char_length(discord_role_id) between 1 and 32),
  role_id         uuid not null,
  created_at      timestamptz not null default now(),
  primary key (guild_id, discord_role_id),
  foreign key (org_id, guild_id) references discord_guilds (org_id, guild_id) on delete cascade,
  foreign key (org_id, role_id) references roles (org_id, id) on delete cascade
);
create index discord_role_mappings_org_id_guild_id_idx on discord_role_mappings (org_id, guild_id);
create index discord_role_mappings_org_id_role_id_idx on discord_role_mappings (org_id, role_id);

-- One-time codes a studio admin creates in the panel and pastes into /link in Discord.
create table guild_link_codes (
  id               uuid primary key default gen_random_uuid(),
  org_id           uuid not null references organizations (id) on delete cascade,
  code_hash        bytea not null unique check (octet_length(code_hash) between 16 and 64),
  created_by       uuid references users (id) on delete set null,
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null,
  used_at          timestamptz,
  used_by_guild_id text check (char_length(used_by_guild_id) between 1 and 32),
  check (expires_at > created_at),
  check ((used_at is null) = (used_by_guild_id is null))
);
create index guild_link_codes_org_id_created_at_idx on guild_link_codes (org_id, created_at);

create table api_tokens (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  name         text not null check (char_length(name) between 1 and 100),
  prefix       text not null check (char_length(prefix) between 1 and 32),
  token_hash   bytea not null unique check (octet_length(token_hash) between 16 and 64),
  scopes       text[] not null default '{}' check (cardinality(scopes) <= 64),
  created_by   uuid references users (id) on delete set null,
  created_at   timestamptz not null default now(),
  last_used_at timestamptz,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  check (expires_at is null or expires_at > created_at)
);
create index api_tokens_org_id_created_at_idx on api_tokens (org_id, created_at);

-- ---------------------------------------------------------------------------
-- row-level security and grants
-- ---------------------------------------------------------------------------
alter table games enable row level security;
alter table games force row level security;
create policy tenant_isolation on games for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table game_keys enable row level security;
alter table game_keys force row level security;
create policy tenant_isolation on game_keys for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on game_keys for select to current_user using (true);

alter table discord_guilds enable row level security;
alter table discord_guilds force row level security;
create policy tenant_isolation on discord_guilds for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- gm_org_for_guild reads; gm_redeem_guild_link_code inserts or renames (on conflict).
create policy definer_read on discord_guilds for select to current_user using (true);
create policy definer_insert on discord_guilds for insert to current_user with check (true);
create policy definer_update on discord_guilds for update to current_user using (true) with check (true);

alter table discord_role_mappings enable row level security;
alter table discord_role_mappings force row level security;
create policy tenant_isolation on discord_role_mappings for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table guild_link_codes enable row level security;
alter table guild_link_codes force row level security;
create policy tenant_isolation on guild_link_codes for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on guild_link_codes for select to current_user using (true);
create policy definer_update on guild_link_codes for update to current_user using (true) with check (true);

alter table api_tokens enable row level security;
alter table api_tokens force row level security;
create policy tenant_isolation on api_tokens for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on api_tokens for select to current_user using (true);

grant select, insert, update, delete
  on games, game_keys, discord_guilds, discord_role_mappings, guild_link_codes, api_tokens
  to gamemod_app;

-- ---------------------------------------------------------------------------
-- cross-tenant functions (see db/README.md)
-- ---------------------------------------------------------------------------

-- Every Discord interaction and event arrives with a guild id and no tenant.
create function gm_org_for_guild(guild_id text)
returns uuid
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select g.org_id from public.discord_guilds g where g.guild_id = gm_org_for_guild.guild_id
$$;

-- SDK requests carry only the game key; unrevoked keys only.
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

-- REST requests carry only the bearer token; unrevoked, unexpired tokens only.
create function gm_resolve_api_token(token_hash bytea)
returns table (org_id uuid, token_id uuid, scopes text[], expires_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select t.org_id, t.id, t.scopes, t.expires_at
    from public.api_tokens t
   where t.token_hash = gm_resolve_api_token.token_hash
     and t.revoked_at is null
     and (t.expires_at is null or t.expires_at > now())
$$;

-- Links a guild to the code's organization and consumes the code, in one step.
-- Returns the org id, or null when the code is unknown, used or expired.
-- Re-linking a guild to the organization it already belongs to only renames it; a guild
-- linked to another organization raises unique_violation (23505) on
-- discord_guilds_guild_id_key and leaves the code unused.
create function gm_redeem_guild_link_code(code_hash bytea, guild_id text, guild_name text)
returns uuid
language plpgsql volatile security definer
set search_path = pg_catalog, public
as $$
declare
  v_code_id uuid;
  v_org_id  uuid;
  v_linked  uuid;
begin
  select c.id, c.org_id into v_code_id, v_org_id
    from public.guild_link_codes c
   where c.code_hash = gm_redeem_guild_link_code.code_hash
     and c.used_at is null
     and c.expires_at > now()
     for update;
  if v_code_id is null then
    return null;
  end if;

  insert into public.discord_guilds as g (org_id, guild_id, name)
  values (v_org_id, gm_redeem_guild_link_code.guild_id, gm_redeem_guild_link_code.guild_name)
  on conflict on constraint discord_guilds_guild_id_key do update
     set name = excluded.name
   where g.org_id = excluded.org_id
  returning g.id into v_linked;
  if v_linked is null then
    raise exception 'guild % is already linked to another organization', gm_redeem_guild_link_code.guild_id
      using errcode = 'unique_violation', constraint = 'discord_guilds_guild_id_key',
            table = 'discord_guilds', schema = 'public';
  end if;

  update public.guild_link_codes c
     set used_at = now(), used_by_guild_id = gm_redeem_guild_link_code.guild_id
   where c.id = v_code_id;
  return v_org_id;
end
$$;

revoke all on function gm_org_for_guild(text) from public;
revoke all on function gm_resolve_game_key(bytea) from public;
revoke all on function gm_resolve_api_token(bytea) from public;
revoke all on function gm_redeem_guild_link_code(bytea, text, text) from public;
grant execute on function gm_org_for_guild(text) to gamemod_app;
grant execute on function gm_resolve_game_key(bytea) to gamemod_app;
grant execute on function gm_resolve_api_token(bytea) to gamemod_app;
grant execute on function gm_redeem_guild_link_code(bytea, text, text) to gamemod_app;

-- Down Migration

drop function gm_redeem_guild_link_code(bytea, text, text);
drop function gm_resolve_api_token(bytea);
drop function gm_resolve_game_key(bytea);
drop function gm_org_for_guild(text);
drop table api_tokens;
drop table guild_link_codes;
drop table discord_role_mappings;
drop table discord_guilds;
drop table game_keys;
drop table games;
