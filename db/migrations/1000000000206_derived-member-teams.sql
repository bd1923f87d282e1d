-- Up Migration

-- The teams of a membership the bot made from a Discord role mapping, kept while that membership
-- is away. Such a membership goes when the mapped role goes (team_members cascades with it), and
-- comes back when the role does; an admin's team assignment is meant to outlive a role taken
-- away for a while, so the bot puts the person back on the teams still there when it makes the
-- membership again.
create table derived_member_teams (
  org_id     uuid not null references organizations (id) on delete cascade,
  user_id    uuid not null references users (id) on delete cascade,
  team_id    uuid not null,
  created_at timestamptz not null default now(),
  primary key (org_id, user_id, team_id),
  foreign key (org_id, team_id) references teams (org_id, id) on delete cascade
);
create index derived_member_teams_org_id_team_id_idx on derived_member_teams (org_id, team_id);

alter table derived_member_teams enable row level security;
alter table derived_member_teams force row level security;
create policy tenant_isolation on derived_member_teams for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, delete on derived_member_teams to gamemod_app;

-- Down Migration

drop table derived_member_teams;
