-- Up Migration

-- Time-based rules ("pending for 48 h", "no player reply for 3 days"): the `ticket.waiting`
-- trigger with `wait` = {"for": "pending" | "player_reply" | "staff_reply", "hours": n}, checked
-- by db/rule-defs.ts. A periodic sweep (workers/rule-timers.ts) finds the tickets that have waited
-- that long and emits a `rule.timer_due` event for each, which the rules job runs like any other.
alter table rules drop constraint rules_trigger_check;
alter table rules add constraint rules_trigger_check
  check (trigger in ('ticket.created', 'ticket.updated', 'message.player', 'message.staff',
    'sla.warning', 'sla.breach', 'player.reported', 'ticket.waiting'));
alter table rules add column wait jsonb;
alter table rules add constraint rules_wait_check
  check ((trigger = 'ticket.waiting') = (wait is not null and jsonb_typeof(wait) = 'object'));

-- One row per rule, ticket and episode of waiting: the time the wait started (`since`: when the
-- ticket went pending, the player's or the staff's last message) names the episode. A ticket
-- fires a rule once per episode; a new episode (a reply, pending again) can fire it again.
create table rule_timer_fires (
  org_id     uuid not null references organizations (id) on delete cascade,
  rule_id    uuid not null,
  ticket_id  uuid not null,
  since      timestamptz not null,
  fired_at   timestamptz not null,
  primary key (org_id, rule_id, ticket_id, since),
  foreign key (org_id, rule_id) references rules (org_id, id) on delete cascade,
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create index rule_timer_fires_ticket on rule_timer_fires (org_id, ticket_id);

alter table rule_timer_fires enable row level security;
alter table rule_timer_fires force row level security;
create policy tenant_isolation on rule_timer_fires for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert on rule_timer_fires to gamemod_app;

-- Down Migration

drop table rule_timer_fires;
alter table rules no force row level security;
delete from rules where trigger = 'ticket.waiting';
alter table rules force row level security;
alter table rules drop constraint rules_wait_check;
alter table rules drop column wait;
alter table rules drop constraint rules_trigger_check;
alter table rules add constraint rules_trigger_check
  check (trigger in ('ticket.created', 'ticket.updated', 'message.player', 'message.staff',
    'sla.warning', 'sla.breach', 'player.reported'));
