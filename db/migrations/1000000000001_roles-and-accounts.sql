-- Up Migration

-- Organizations, global accounts, and role-based access inside an organization.
-- Tenant tables: see db/README.md for the rules every one of them follows.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'gamemod_app') then
    raise exception 'role gamemod_app does not exist'
      using hint = 'Create the runtime role first (LOGIN, NOSUPERUSER, NOBYPASSRLS, owning nothing), '
                   'then run the migrations as the owner role (gamemod_owner).';
  end if;
  if exists (select 1 from pg_catalog.pg_roles
              where rolname = 'gamemod_app' and (rolsuper or rolbypassrls)) then
    raise exception 'role gamemod_app must not be a superuser or have BYPASSRLS'
      using hint = 'Row-level security never applies to such a role: ALTER ROLE gamemod_app NOSUPERUSER NOBYPASSRLS.';
  end if;
  if current_user = 'gamemod_app' then
    raise exception 'migrations must run as the owner role, not as gamemod_app';
  end if;
  if pg_catalog.pg_has_role('gamemod_app', current_user, 'MEMBER') then
    raise exception 'role gamemod_app must not be a member of the owner role %', current_user
      using hint = 'It would inherit the owner''s privileges and policies.';
  end if;
end
$$;

grant usage on schema public to gamemod_app;

-- Keeps updated_at current unless the statement sets it explicitly (imports, tests).
create function gm_touch_updated_at() returns trigger
language plpgsql
as $$
begin
  if new.updated_at is not distinct from old.updated_at then
    new.updated_at := now();
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- organizations (tenant root: its policy is on id)
-- ---------------------------------------------------------------------------
create table organizations (
  id                     uuid primary key default gen_random_uuid(),
  name                   text not null check (char_length(name) between 1 and 100),
  slug                   text not null unique check (slug ~ '^[a-z0-9-]{2,50}$'),
  settings               jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  require_totp           boolean not null default false,
  -- Per-org ticket number counter: `update organizations set ticket_seq = ticket_seq + 1
  -- ... returning ticket_seq` in the ticket's transaction gives gap-free numbers per org.
  ticket_seq             bigint not null default 0 check (ticket_seq >= 0),
  -- References business_calendars (org_id, id); the constraint is added with that table.
  business_calendar_id   uuid,
  inactivity_close_hours integer check (inactivity_close_hours between 1 and 8760),
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now()
);

-- Not on ticket_seq: allocating a ticket number is not an edit of the organization.
create trigger organizations_touch before update of name, slug, settings, require_totp,
  business_calendar_id, inactivity_close_hours on organizations
  for each row execute function gm_touch_updated_at();

alter table organizations enable row level security;
alter table organizations force row level security;
create policy tenant_isolation on organizations for all to gamemod_app
  using (id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- For gm_orgs_for_user and gm_list_orgs (security definer, run as this role).
create policy definer_read on organizations for select to current_user using (true);

grant select, insert, update, delete on organizations to gamemod_app;

-- ---------------------------------------------------------------------------
-- Global accounts (no org_id, no RLS)
-- ---------------------------------------------------------------------------
create table users (
  id           uuid primary key default gen_random_uuid(),
  display_name text not null check (char_length(display_name) between 1 and 100),
  email        text check (char_length(email) between 3 and 320 and position('@' in email) > 1),
  avatar_url   text check (char_length(avatar_url) between 1 and 2048),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  disabled_at  timestamptz
);
create unique index users_email_key on users (lower(email));
create trigger users_touch before update on users
  for each row execute function gm_touch_updated_at();

create table auth_providers (
  id               uuid primary key default gen_random_uuid(),
  user_id          uuid not null references users (id) on delete cascade,
  provider         text not null check (provider in ('discord', 'email')),
  provider_user_id text not null check (char_length(provider_user_id) between 1 and 320),
  created_at       timestamptz not null default now(),
  unique (provider, provider_user_id)
);
create index auth_providers_user_id_idx on auth_providers (user_id);

create table discord_accounts (
  user_id         uuid primary key references users (id) on delete cascade,
  discord_user_id text not null unique check (char_length(discord_user_id) between 1 and 32),
  username        text not null check (char_length(username) between 1 and 100),
  global_name     text check (char_length(global_name) between 1 and 100),
  avatar          text check (char_length(avatar) between 1 and 200),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create trigger discord_accounts_touch before update on discord_accounts
  for each row execute function gm_touch_updated_at();

create table user_totp (
  user_id              uuid primary key references users (id) on delete cascade,
  secret_ciphertext    text not null check (char_length(secret_ciphertext) between 1 and 1000),
  -- null while enrolment is pending (secret shown, first code not yet confirmed)
  enabled_at           timestamptz,
  recovery_code_hashes text[] not null default '{}' check (cardinality(recovery_code_hashes) <= 20),
  -- the last accepted 30 s step: a code is single-use, so a step <= this one is refused
  last_used_step       bigint check (last_used_step >= 0),
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now()
);
create trigger user_totp_touch before update on user_totp
  for each row execute function gm_touch_updated_at();

create table permissions (
  key         text primary key check (key ~ '^[a-z]+(\.[a-z_]+)+$' and char_length(key) <= 64),
  description text not null check (char_length(description) between 1 and 200)
);

insert into permissions (key, description) values
  ('org.read',          'View the organization and its settings'),
  ('org.manage',        'Change organization settings, or delete the organization'),
  ('members.read',      'List members and their roles'),
  ('members.manage',    'Invite, remove and change the role of members'),
  ('roles.manage',      'Create roles and edit their permissions and Discord role mappings'),
  ('teams.manage',      'Create teams and manage team membership'),
  ('games.manage',      'Manage games and their SDK keys'),
  ('guilds.manage',     'Link Discord guilds and edit their settings'),
  ('categories.manage', 'Manage ticket categories and their intake questions'),
  ('canned.manage',     'Manage canned replies'),
  ('sla.manage',        'Manage SLA policies and business calendars'),
  ('webhooks.manage',   'Manage webhook subscriptions and replay deliveries'),
  ('tokens.manage',     'Create and revoke API tokens'),
  ('retention.manage',  'Manage retention policies and player data export or erasure'),
  ('tickets.read',      'View tickets and their conversations'),
  ('tickets.create',    'Open tickets on behalf of players'),
  ('tickets.reply',     'Reply to players on tickets'),
  ('tickets.note',      'Add internal notes to tickets'),
  ('tickets.assign',    'Assign tickets to members and teams'),
  ('tickets.update',    'Change ticket status, priority, category, tags and fields'),
  ('tickets.close',     'Close and reopen tickets'),
  ('tickets.merge',     'Merge tickets'),
  ('tickets.delete',    'Delete tickets'),
  ('players.read',      'View player profiles, sessions and history'),
  ('players.manage',    'Edit, block and erase player profiles'),
  ('reports.read',      'View player reports'),
  ('reports.manage',    'Action or dismiss player reports'),
  ('audit.read',        'Read the audit log'),
  ('analytics.read',    'View SLA, workload and satisfaction analytics');

grant select, insert, update, delete on users, auth_providers, discord_accounts, user_totp to gamemod_app;
grant select on permissions to gamemod_app;

-- ---------------------------------------------------------------------------
-- roles, role_permissions, memberships
-- ---------------------------------------------------------------------------
create table roles (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  key         text not null check (key ~ '^[a-z0-9][a-z0-9_-]{0,49}$'),
  name        text not null check (char_length(name) between 1 and 100),
  description text check (char_length(description) <= 500),
  is_system   boolean not null default false,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (org_id, key),
  unique (org_id, id)
);
create trigger roles_touch before update on roles
  for each row execute function gm_touch_updated_at();

create table role_permissions (
  org_id         uuid not null references organizations (id) on delete cascade,
  role_id        uuid not null,
  permission_key text not null references permissions (key) on delete cascade,
  created_at     timestamptz not null default now(),
  primary key (role_id, permission_key),
  foreign key (org_id, role_id) references roles (org_id, id) on delete cascade
);
create index role_permissions_org_id_role_id_idx on role_permissions (org_id, role_id);

create table memberships (
  id         uuid primary key default gen_random_uuid(),
  org_id     uuid not null references organizations (id) on delete cascade,
  user_id    uuid not null references users (id) on delete cascade,
  -- no action: a role in use cannot be deleted (checked at statement end, so an
  -- organization delete that cascades to both still works)
  role_id    uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, user_id),
  unique (org_id, id),
  foreign key (org_id, role_id) references roles (org_id, id)
);
create index memberships_org_id_role_id_idx on memberships (org_id, role_id);
-- gm_orgs_for_user looks members up by user across organizations
create index memberships_user_id_idx on memberships (user_id);
create trigger memberships_touch before update on memberships
  for each row execute function gm_touch_updated_at();

-- ---------------------------------------------------------------------------
-- teams
-- ---------------------------------------------------------------------------
create table teams (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  name        text not null check (char_length(name) between 1 and 100),
  description text check (char_length(description) <= 500),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (org_id, name),
  unique (org_id, id)
);
create trigger teams_touch before update on teams
  for each row execute function gm_touch_updated_at();

create table team_members (
  org_id     uuid not null references organizations (id) on delete cascade,
  team_id    uuid not null,
  user_id    uuid not null,
  created_at timestamptz not null default now(),
  primary key (team_id, user_id),
  foreign key (org_id, team_id) references teams (org_id, id) on delete cascade,
  -- only members of the organization can be on its teams; leaving the org leaves its teams
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade
);
create index team_members_org_id_user_id_idx on team_members (org_id, user_id);

-- ---------------------------------------------------------------------------
-- row-level security and grants for this file's tenant tables
-- ---------------------------------------------------------------------------
alter table roles enable row level security;
alter table roles force row level security;
create policy tenant_isolation on roles for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on roles for select to current_user using (true);

alter table role_permissions enable row level security;
alter table role_permissions force row level security;
create policy tenant_isolation on role_permissions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table memberships enable row level security;
alter table memberships force row level security;
create policy tenant_isolation on memberships for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on memberships for select to current_user using (true);

alter table teams enable row level security;
alter table teams force row level security;
create policy tenant_isolation on teams for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table team_members enable row level security;
alter table team_members force row level security;
create policy tenant_isolation on team_members for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on roles, role_permissions, memberships, teams, team_members
  to gamemod_app;

-- ---------------------------------------------------------------------------
-- cross-tenant functions (see db/README.md)
-- ---------------------------------------------------------------------------

-- The organizations a signed-in user belongs to, for the org switcher and session start.
create function gm_orgs_for_user(user_id uuid)
returns table (org_id uuid, org_name text, role_key text)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id, o.name, r.key
    from public.memberships m
    join public.organizations o on o.id = m.org_id
    join public.roles r on r.org_id = m.org_id and r.id = m.role_id
   where m.user_id = gm_orgs_for_user.user_id
   order by o.name, o.id
$$;

-- Keyset-paged organization ids, for schedulers that do per-tenant work (retention,
-- inactivity close, SLA sweeps, rollups, outbox and idempotency-key pruning).
create function gm_list_orgs(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id
    from public.organizations o
   where gm_list_orgs.after_id is null or o.id > gm_list_orgs.after_id
   order by o.id
   limit least(greatest(coalesce(gm_list_orgs.batch, 100), 1), 1000)
$$;

revoke all on function gm_orgs_for_user(uuid) from public;
revoke all on function gm_list_orgs(uuid, integer) from public;
grant execute on function gm_orgs_for_user(uuid) to gamemod_app;
grant execute on function gm_list_orgs(uuid, integer) to gamemod_app;

-- Down Migration

drop function gm_list_orgs(uuid, integer);
drop function gm_orgs_for_user(uuid);
drop table team_members;
drop table teams;
drop table memberships;
drop table role_permissions;
drop table roles;
drop table permissions;
drop table user_totp;
drop table discord_accounts;
drop table auth_providers;
drop table users;
drop table organizations;
drop function gm_touch_updated_at();
revoke usage on schema public from gamemod_app;
