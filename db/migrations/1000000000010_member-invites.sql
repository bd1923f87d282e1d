-- Up Migration

-- Invitations into an organization: by Discord user id (accepted at that person's next sign-in)
-- or by a link whose code is shown once and stored hashed. Accepting creates the membership
-- inside the inviting org's tenant; only the look-up of an invite crosses tenants.

create table member_invites (
  id              uuid primary key default gen_random_uuid(),
  org_id          uuid not null references organizations (id) on delete cascade,
  role_id         uuid not null,
  discord_user_id text check (discord_user_id ~ '^\d{17,20}$'),
  code_hash       bytea unique check (octet_length(code_hash) = 32),
  max_uses        integer not null default 1 check (max_uses between 1 and 1000),
  uses            integer not null default 0 check (uses >= 0),
  expires_at      timestamptz not null,
  created_by      uuid references users (id) on delete set null,
  created_at      timestamptz not null default now(),
  revoked_at      timestamptz,
  unique (org_id, id),
  foreign key (org_id, role_id) references roles (org_id, id) on delete cascade,
  -- exactly one way in: a named Discord user or a link
  check ((discord_user_id is null) <> (code_hash is null))
);
create index member_invites_org_id_created_at_idx on member_invites (org_id, created_at desc);
create index member_invites_discord_user_id_idx on member_invites (discord_user_id)
  where discord_user_id is not null and revoked_at is null;

alter table member_invites enable row level security;
alter table member_invites force row level security;
create policy tenant_isolation on member_invites for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- for the two look-up functions below (security definer, run as the owner)
create policy definer_read on member_invites for select to current_user using (true);

grant select, insert, update, delete on member_invites to gamemod_app;

-- Open invites addressed to a Discord account, across orgs (called at sign-in).
create function gm_invites_for_discord_user(discord_user_id text)
returns table (org_id uuid, invite_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select i.org_id, i.id from public.member_invites i
   where i.discord_user_id = gm_invites_for_discord_user.discord_user_id
     and i.revoked_at is null and i.uses < i.max_uses and i.expires_at > now()
$$;

-- The org and invite behind an invite link's code (by hash).
create function gm_invite_for_code(code_hash bytea)
returns table (org_id uuid, invite_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select i.org_id, i.id from public.member_invites i
   where i.code_hash = gm_invite_for_code.code_hash
     and i.revoked_at is null and i.uses < i.max_uses and i.expires_at > now()
$$;

revoke all on function gm_invites_for_discord_user(text) from public;
revoke all on function gm_invite_for_code(bytea) from public;
grant execute on function gm_invites_for_discord_user(text) to gamemod_app;
grant execute on function gm_invite_for_code(bytea) to gamemod_app;

-- Down Migration

drop function gm_invite_for_code(bytea);
drop function gm_invites_for_discord_user(text);
drop table member_invites;
