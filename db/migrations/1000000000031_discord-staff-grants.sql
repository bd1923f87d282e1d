-- Up Migration

-- Memberships the bot made because a Discord role is mapped onto an org role. They exist so
-- assignments and the audit log can name the staff member, but they must not outlive the
-- Discord role: the bot re-derives such a member's permissions from their current Discord roles
-- on every action and removes the membership once no mapped role is left. A membership whose
-- role was changed since (by an admin, in the panel) no longer matches its grant and counts as
-- a real one.
create table discord_staff_grants (
  org_id     uuid not null references organizations (id) on delete cascade,
  user_id    uuid not null,
  role_id    uuid not null,
  guild_id   text not null check (guild_id ~ '^\d{17,20}$'),
  created_at timestamptz not null default now(),
  primary key (org_id, user_id),
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade,
  foreign key (org_id, role_id) references roles (org_id, id) on delete cascade
);
create index discord_staff_grants_org_id_role_id_idx on discord_staff_grants (org_id, role_id);

alter table discord_staff_grants enable row level security;
alter table discord_staff_grants force row level security;
create policy tenant_isolation on discord_staff_grants for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on discord_staff_grants to gamemod_app;

-- Down Migration

drop table discord_staff_grants;
