-- Up Migration

-- A member's saved inbox views: a name and the inbox filters it restores (the same keys the
-- panel keeps in its URL). Private to the member who saved them; tenant-isolated like every
-- org table, and a member's views go with the membership's user or the org.

create table saved_views (
  id         uuid primary key default gen_random_uuid(),
  org_id     uuid not null references organizations (id) on delete cascade,
  user_id    uuid not null references users (id) on delete cascade,
  name       text not null check (char_length(name) between 1 and 60),
  filters    jsonb not null default '{}' check (jsonb_typeof(filters) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, user_id, name)
);

alter table saved_views enable row level security;
alter table saved_views force row level security;
create policy tenant_isolation on saved_views for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on saved_views to gamemod_app;

create trigger saved_views_touch before update on saved_views
  for each row execute function gm_touch_updated_at();

-- Down Migration

drop table saved_views;
