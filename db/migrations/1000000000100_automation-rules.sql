-- Up Migration

-- Rules act on tickets in their own name: history and audit name the rule as the actor, so
-- staff can tell an automatic change from a person's.
alter table ticket_events drop constraint ticket_events_actor_type_check;
alter table ticket_events add constraint ticket_events_actor_type_check
  check (actor_type in ('user', 'player', 'system', 'token', 'rule'));
alter table audit_logs drop constraint audit_logs_actor_type_check;
alter table audit_logs add constraint audit_logs_actor_type_check
  check (actor_type in ('user', 'player', 'system', 'token', 'rule'));

-- An organization's automation rules. Conditions and actions are data (validated by
-- db/rules.ts), never code. `position` orders the rules of one organization: they run in that
-- order, and a later rule sees what an earlier one changed.
create table rules (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  name        text not null check (char_length(name) between 1 and 100),
  trigger     text not null check (trigger in ('ticket.created', 'ticket.updated', 'message.player',
                'message.staff', 'sla.warning', 'sla.breach', 'player.reported')),
  match       text not null default 'all' check (match in ('all', 'any')),
  conditions  jsonb not null default '[]' check (jsonb_typeof(conditions) = 'array'),
  actions     jsonb not null check (jsonb_typeof(actions) = 'array'),
  position    int not null check (position >= 0),
  enabled     boolean not null default true,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, name)
);
create index rules_org_trigger on rules (org_id, trigger, position) where enabled;
create trigger rules_touch before update on rules
  for each row execute function gm_touch_updated_at();

alter table rules enable row level security;
alter table rules force row level security;
create policy tenant_isolation on rules for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on rules to gamemod_app;

-- The run log: one row per event and rule considered, matched or not, with why and what it did.
-- Written in the transaction of the rule's actions, so (outbox_id, rule_id) being taken means
-- the rule already ran for that event: a replayed job skips it. Append-only for the app.
-- `rule_id` is cleared when the rule is deleted; its name stays for the log.
create table rule_runs (
  id          bigint generated always as identity primary key,
  org_id      uuid not null references organizations (id) on delete cascade,
  ticket_id   uuid not null,
  outbox_id   bigint not null,
  rule_id     uuid,
  rule_name   text not null check (char_length(rule_name) between 1 and 100),
  trigger     text not null,
  depth       int not null check (depth between 0 and 100),
  outcome     text not null check (outcome in ('applied', 'not_matched', 'skipped', 'failed')),
  reason      text check (char_length(reason) <= 500),
  actions     jsonb not null default '[]',
  created_at  timestamptz not null default now(),
  unique (org_id, outbox_id, rule_id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  foreign key (org_id, rule_id) references rules (org_id, id) on delete set null (rule_id)
);
create index rule_runs_ticket on rule_runs (org_id, ticket_id, id desc);
create index rule_runs_rule on rule_runs (org_id, rule_id, id desc);

alter table rule_runs enable row level security;
alter table rule_runs force row level security;
create policy tenant_isolation on rule_runs for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert on rule_runs to gamemod_app;
grant usage on sequence rule_runs_id_seq to gamemod_app;

-- Auto-assignment honours a member's capacity in a team: at most this many open (open,
-- pending, on hold) tickets assigned to them; null means no limit.
alter table team_members
  add column max_open_tickets int check (max_open_tickets between 0 and 10000);

insert into permissions (key, description) values
  ('rules.manage', 'Create, edit, order and dry-run automation rules, and read their run log');

-- Existing organizations' owner and admin roles get the new permission, as new organizations'
-- do (db/permissions.ts). role_permissions is forced under RLS with no policy for this role, so
-- the force is lifted for this one statement inside the migration's transaction.
alter table role_permissions no force row level security;
alter table roles no force row level security;
insert into role_permissions (org_id, role_id, permission_key)
select r.org_id, r.id, 'rules.manage' from roles r where r.key in ('owner', 'admin')
on conflict do nothing;
alter table roles force row level security;
alter table role_permissions force row level security;

-- Down Migration

alter table role_permissions no force row level security;
delete from role_permissions where permission_key = 'rules.manage';
alter table role_permissions force row level security;
delete from permissions where key = 'rules.manage';
alter table team_members drop column max_open_tickets;
drop table rule_runs;
drop table rules;
alter table ticket_events no force row level security;
alter table audit_logs no force row level security;
delete from ticket_events where actor_type = 'rule';
delete from audit_logs where actor_type = 'rule';
alter table audit_logs force row level security;
alter table ticket_events force row level security;
alter table audit_logs drop constraint audit_logs_actor_type_check;
alter table audit_logs add constraint audit_logs_actor_type_check
  check (actor_type in ('user', 'player', 'system', 'token'));
alter table ticket_events drop constraint ticket_events_actor_type_check;
alter table ticket_events add constraint ticket_events_actor_type_check
  check (actor_type in ('user', 'player', 'system', 'token'));
