-- Up Migration

-- Business calendars and SLA policies with their append-only metric-event log,
-- canned replies, and retention policies.

create table business_calendars (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  name         text not null check (char_length(name) between 1 and 100),
  -- IANA zone name, e.g. Europe/Berlin
  timezone     text not null check (char_length(timezone) between 1 and 64),
  -- per weekday, a list of [start, end] minute-of-day ranges
  weekly_hours jsonb not null check (jsonb_typeof(weekly_hours) in ('object', 'array')),
  holidays     date[] not null default '{}' check (cardinality(holidays) <= 1000),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  unique (org_id, name),
  unique (org_id, id)
);
create trigger business_calendars_touch before update on business_calendars
  for each row execute function gm_touch_updated_at();

-- The organization's default calendar must be one of its own.
alter table organizations
  add constraint organizations_business_calendar_fkey foreign key (id, business_calendar_id)
  references business_calendars (org_id, id) on delete set null (business_calendar_id);

-- Matched by position (first enabled match wins) on priority, category and team; null matches any.
create table sla_policies (
  id                     uuid primary key default gen_random_uuid(),
  org_id                 uuid not null references organizations (id) on delete cascade,
  name                   text not null check (char_length(name) between 1 and 100),
  priority               text check (priority in ('low', 'normal', 'high', 'urgent')),
  category_id            uuid,
  team_id                uuid,
  first_response_minutes integer check (first_response_minutes > 0),
  next_response_minutes  integer check (next_response_minutes > 0),
  resolution_minutes     integer check (resolution_minutes > 0),
  -- null: the organization's calendar, or calendar time when it has none
  business_calendar_id   uuid,
  warn_before_minutes    integer check (warn_before_minutes >= 0),
  escalate_priority      boolean not null default false,
  escalation_team_id     uuid,
  position               integer not null default 0,
  enabled                boolean not null default true,
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now(),
  unique (org_id, id),
  check (num_nonnulls(first_response_minutes, next_response_minutes, resolution_minutes) >= 1),
  -- a policy scoped to a category or team goes with it, rather than silently widening to all
  foreign key (org_id, category_id) references ticket_categories (org_id, id) on delete cascade,
  foreign key (org_id, team_id) references teams (org_id, id) on delete cascade,
  -- no action: a calendar in use cannot be deleted
  foreign key (org_id, business_calendar_id) references business_calendars (org_id, id),
  foreign key (org_id, escalation_team_id) references teams (org_id, id)
    on delete set null (escalation_team_id)
);
create index sla_policies_org_id_enabled_position_idx on sla_policies (org_id, enabled, position);
create index sla_policies_org_id_category_id_idx on sla_policies (org_id, category_id)
  where category_id is not null;
create index sla_policies_org_id_team_id_idx on sla_policies (org_id, team_id)
  where team_id is not null;
create index sla_policies_org_id_business_calendar_id_idx on sla_policies (org_id, business_calendar_id)
  where business_calendar_id is not null;
create index sla_policies_org_id_escalation_team_id_idx on sla_policies (org_id, escalation_team_id)
  where escalation_team_id is not null;
create trigger sla_policies_touch before update on sla_policies
  for each row execute function gm_touch_updated_at();

-- Append-only SLA metric events; SLA state is derived from them, so analytics can recompute.
create table ticket_sla_events (
  id         bigint generated always as identity primary key,
  org_id     uuid not null references organizations (id) on delete cascade,
  ticket_id  uuid not null,
  policy_id  uuid,
  metric     text not null check (metric in ('first_response', 'next_response', 'resolution')),
  kind       text not null check (kind in ('activate', 'pause', 'resume', 'fulfil', 'warn', 'breach')),
  due_at     timestamptz,
  created_at timestamptz not null default now(),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  foreign key (org_id, policy_id) references sla_policies (org_id, id) on delete set null (policy_id)
);
create index ticket_sla_events_org_id_ticket_id_id_idx on ticket_sla_events (org_id, ticket_id, id);
create index ticket_sla_events_org_id_created_at_idx on ticket_sla_events (org_id, created_at);
create index ticket_sla_events_org_id_policy_id_idx on ticket_sla_events (org_id, policy_id)
  where policy_id is not null;

create table canned_replies (
  id         uuid primary key default gen_random_uuid(),
  org_id     uuid not null references organizations (id) on delete cascade,
  shortcut   text not null check (char_length(shortcut) between 1 and 50 and shortcut !~ '\s'),
  title      text not null check (char_length(title) between 1 and 100),
  body       text not null check (char_length(body) between 1 and 2000),
  -- null: available to the whole organization
  team_id    uuid,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, shortcut),
  foreign key (org_id, team_id) references teams (org_id, id) on delete set null (team_id)
);
create index canned_replies_org_id_team_id_idx on canned_replies (org_id, team_id)
  where team_id is not null;
create trigger canned_replies_touch before update on canned_replies
  for each row execute function gm_touch_updated_at();

create table retention_policies (
  id         uuid primary key default gen_random_uuid(),
  org_id     uuid not null references organizations (id) on delete cascade,
  target     text not null
               check (target in ('tickets', 'messages', 'audit_logs', 'player_sessions', 'attachments')),
  days       integer not null check (days > 0 and days <= 36500),
  action     text not null check (action in ('purge', 'anonymise')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, target),
  -- audit entries are evidence: they expire whole (gm_purge_audit_logs), never rewritten
  constraint retention_policies_audit_logs_purge_check check (target <> 'audit_logs' or action = 'purge')
);
create trigger retention_policies_touch before update on retention_policies
  for each row execute function gm_touch_updated_at();

-- ---------------------------------------------------------------------------
-- row-level security and grants
-- ---------------------------------------------------------------------------
alter table business_calendars enable row level security;
alter table business_calendars force row level security;
create policy tenant_isolation on business_calendars for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table sla_policies enable row level security;
alter table sla_policies force row level security;
create policy tenant_isolation on sla_policies for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table ticket_sla_events enable row level security;
alter table ticket_sla_events force row level security;
create policy tenant_isolation on ticket_sla_events for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table canned_replies enable row level security;
alter table canned_replies force row level security;
create policy tenant_isolation on canned_replies for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table retention_policies enable row level security;
alter table retention_policies force row level security;
create policy tenant_isolation on retention_policies for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete
  on business_calendars, sla_policies, canned_replies, retention_policies
  to gamemod_app;
grant select, insert on ticket_sla_events to gamemod_app;
grant usage on sequence ticket_sla_events_id_seq to gamemod_app;

-- Down Migration

drop table retention_policies;
drop table canned_replies;
drop table ticket_sla_events;
drop table sla_policies;
alter table organizations drop constraint organizations_business_calendar_fkey;
drop table business_calendars;
