-- Up Migration

-- Incremental analytics rollups (db/analytics-*.ts, workers/analytics.ts).
--
-- Every ticket change writes a ticket_events row; `txid` records the writing transaction so the
-- fold can take "every event of a transaction that has finished" exactly once: it reads events
-- with txid in [last watermark, xmin of its snapshot), and no transaction below that xmin can
-- still commit. An id or time watermark would skip an event whose transaction started before
-- and committed after a later one. (A volatile default rewrites the table once, here.)
alter table ticket_events add column txid xid8 not null default pg_current_xact_id();
create index ticket_events_org_id_txid_idx on ticket_events (org_id, txid);
-- The SLA workers change a ticket's SLA state without a ticket event (activation, fulfilment).
alter table ticket_sla_events add column txid xid8 not null default pg_current_xact_id();
create index ticket_sla_events_org_id_txid_idx on ticket_sla_events (org_id, txid);

-- Durations are kept as 24-bin histograms (db/analytics-sql.ts): bin 0 is under 90 s, bin k
-- covers [60 * 1.5^k, 60 * 1.5^(k+1)) seconds, the last (23) everything from about 5.2 days on.
-- Medians and p90 read off them are within about 25 %. No SQL functions: the app role may
-- execute only the few named in db/README.md.

-- What each ticket last contributed to the rollups, so a refold retracts exactly that before
-- adding its new contribution (replays and late events never double count). One row per kind
-- and local hour: `opened` (at creation), `resolved` (solved or closed, not reopened since),
-- `reply` (staff replies in that hour, the author in assignee_id). No foreign key to tickets:
-- a deleted ticket's row must outlive it until its retraction is folded.
create table analytics_contributions (
  org_id      uuid not null references organizations (id) on delete cascade,
  ticket_id   uuid not null,
  kind        text not null check (kind in ('opened', 'resolved', 'reply')),
  bucket      timestamp not null,
  team_id     uuid,
  assignee_id uuid,
  category_id uuid,
  source      text not null,
  game_id     uuid,
  platform    text,
  build       text,
  region      text,
  priority    text not null,
  n           int not null,
  -- opened: first response time; resolved: resolution time (none for merged tickets)
  dur_s       int,
  sla         int not null default 0,
  breached    int not null default 0,
  escalated   int not null default 0,
  reopened    int not null default 0,
  merged      int not null default 0,
  rating      smallint
);
create index analytics_contributions_org_id_ticket_id_idx on analytics_contributions (org_id, ticket_id);

-- The rollups, per local hour and per local day. The dimension columns are values as they
-- were folded (ids of teams, members, categories and games that may since be gone), not
-- references: a deleted category must not rewrite history's keys.
create table analytics_hourly (
  org_id      uuid not null references organizations (id) on delete cascade,
  kind        text not null check (kind in ('opened', 'resolved', 'reply')),
  bucket      timestamp not null,
  team_id     uuid,
  assignee_id uuid,
  category_id uuid,
  source      text not null,
  game_id     uuid,
  platform    text,
  build       text,
  region      text,
  priority    text not null,
  n           int not null,
  dur_n       int not null,
  dur_sum     bigint not null,
  dur_hist    int[] not null,
  sla         int not null,
  breached    int not null,
  escalated   int not null,
  reopened    int not null,
  merged      int not null,
  rated       int not null,
  rating_sum  int not null,
  rating_hist int[] not null,
  unique nulls not distinct (org_id, kind, bucket, team_id, assignee_id, category_id, source, game_id,
    platform, build, region, priority)
);
create index analytics_hourly_empty_idx on analytics_hourly (org_id) where n = 0;

create table analytics_daily (like analytics_hourly including defaults including constraints);
alter table analytics_daily alter column bucket type date;
alter table analytics_daily add foreign key (org_id) references organizations (id) on delete cascade;
alter table analytics_daily add unique nulls not distinct (org_id, kind, bucket, team_id, assignee_id,
  category_id, source, game_id, platform, build, region, priority);
create index analytics_daily_empty_idx on analytics_daily (org_id) where n = 0;

-- How far each organization's events are folded (an xid8 snapshot xmin, see above).
create table analytics_watermarks (
  org_id    uuid primary key references organizations (id) on delete cascade,
  upto      xid8 not null default '0',
  folded_at timestamptz
);

-- Deleting a ticket or a message (retention, erasure) leaves no event: a ticket's events go
-- with it. These triggers note the tickets for the next fold to refold (or retract). Only the
-- tenant's own deletes are noted: an organization's deletion cascades here with no tenant set,
-- and takes its rollups with it.
create table analytics_stale_tickets (
  org_id    uuid not null references organizations (id) on delete cascade,
  ticket_id uuid not null,
  primary key (org_id, ticket_id)
);

create function gm_analytics_note_deleted() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'tickets' then
    insert into analytics_stale_tickets (org_id, ticket_id)
    select distinct g.org_id, g.id from gone g
     where g.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
    on conflict do nothing;
  else
    insert into analytics_stale_tickets (org_id, ticket_id)
    select distinct g.org_id, g.ticket_id from gone g
     where g.ticket_id is not null
       and g.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
    on conflict do nothing;
  end if;
  return null;
end $$;
create trigger tickets_analytics_deleted after delete on tickets
  referencing old table as gone for each statement execute function gm_analytics_note_deleted();
create trigger messages_analytics_deleted after delete on messages
  referencing old table as gone for each statement execute function gm_analytics_note_deleted();

alter table analytics_contributions enable row level security;
alter table analytics_contributions force row level security;
create policy tenant_isolation on analytics_contributions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_hourly enable row level security;
alter table analytics_hourly force row level security;
create policy tenant_isolation on analytics_hourly for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_daily enable row level security;
alter table analytics_daily force row level security;
create policy tenant_isolation on analytics_daily for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_watermarks enable row level security;
alter table analytics_watermarks force row level security;
create policy tenant_isolation on analytics_watermarks for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_stale_tickets enable row level security;
alter table analytics_stale_tickets force row level security;
create policy tenant_isolation on analytics_stale_tickets for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete
  on analytics_contributions, analytics_hourly, analytics_daily, analytics_watermarks,
     analytics_stale_tickets
  to gamemod_app;
revoke execute on function gm_analytics_note_deleted() from public;

-- Down Migration

drop trigger messages_analytics_deleted on messages;
drop trigger tickets_analytics_deleted on tickets;
drop function gm_analytics_note_deleted();
drop table analytics_stale_tickets;
drop table analytics_watermarks;
drop table analytics_daily;
drop table analytics_hourly;
drop table analytics_contributions;
drop index ticket_sla_events_org_id_txid_idx;
alter table ticket_sla_events drop column txid;
drop index ticket_events_org_id_txid_idx;
alter table ticket_events drop column txid;
