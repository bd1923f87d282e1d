-- Up Migration

-- Next response time and business time in the analytics rollups (db/analytics-sql.ts,
-- db/analytics-business-time.ts).
--
-- Next response: a `reply` contribution is now one row per staff reply (it was one per local hour
-- and author) so that each reply can carry, in dur_s, the wait it ended: from the first player
-- message after the previous staff reply to this one. A histogram adds one sample per row, so a
-- sample needs a row of its own. The rollup tables keep their shape: `reply` rows' dur_n,
-- dur_sum and dur_hist, all zero until now, become the next response times.
--
-- Business time: every duration also counted in working hours only (bdur_s), in the calendar the
-- ticket's SLA clocks count in (its first matching SLA policy's, else the organization's default,
-- else calendar time, where it equals dur_s). Computed when a ticket is folded, never at read
-- time: a dashboard must not walk calendars over thousands of tickets.
alter table analytics_contributions add column bdur_s int;

alter table analytics_hourly add column bdur_n int not null default 0,
  add column bdur_sum bigint not null default 0,
  add column bdur_hist int[] not null default array_fill(0, array[24]);
alter table analytics_daily add column bdur_n int not null default 0,
  add column bdur_sum bigint not null default 0,
  add column bdur_hist int[] not null default array_fill(0, array[24]);
alter table analytics_hourly_dim add column bdur_n int not null default 0,
  add column bdur_sum bigint not null default 0,
  add column bdur_hist int[] not null default array_fill(0, array[24]);
alter table analytics_daily_dim add column bdur_n int not null default 0,
  add column bdur_sum bigint not null default 0,
  add column bdur_hist int[] not null default array_fill(0, array[24]);

-- The heatmap summed 90 x 24 hourly rows of analytics_hourly_dim, one per heap page of a
-- ten-million-row table (EXPLAIN on the benchmark's data: see bench/README.md). The daily rows
-- now also keep n per local hour of the day, so it reads 90 daily rows instead.
alter table analytics_daily add column hours int[] not null default array_fill(0, array[24]);
alter table analytics_daily_dim add column hours int[] not null default array_fill(0, array[24]);

-- Fill `hours` of what is already folded from the hourly rollups (the numbers the fold would
-- write). As in migration 120, the migration's role reads and writes across tenants for this
-- statement alone.
alter table analytics_daily no force row level security;
alter table analytics_hourly no force row level security;
alter table analytics_daily_dim no force row level security;
alter table analytics_hourly_dim no force row level security;
update analytics_daily d set hours = h.hours
  from (select org_id, kind, bucket::date as day, team_id, assignee_id, category_id, source, game_id,
               platform, build, region, priority,
               array[coalesce(sum(x.n) filter (where x.hr = 0), 0), coalesce(sum(x.n) filter (where x.hr = 1), 0), coalesce(sum(x.n) filter (where x.hr = 2), 0), coalesce(sum(x.n) filter (where x.hr = 3), 0), coalesce(sum(x.n) filter (where x.hr = 4), 0), coalesce(sum(x.n) filter (where x.hr = 5), 0), coalesce(sum(x.n) filter (where x.hr = 6), 0), coalesce(sum(x.n) filter (where x.hr = 7), 0), coalesce(sum(x.n) filter (where x.hr = 8), 0), coalesce(sum(x.n) filter (where x.hr = 9), 0), coalesce(sum(x.n) filter (where x.hr = 10), 0), coalesce(sum(x.n) filter (where x.hr = 11), 0), coalesce(sum(x.n) filter (where x.hr = 12), 0), coalesce(sum(x.n) filter (where x.hr = 13), 0), coalesce(sum(x.n) filter (where x.hr = 14), 0), coalesce(sum(x.n) filter (where x.hr = 15), 0), coalesce(sum(x.n) filter (where x.hr = 16), 0), coalesce(sum(x.n) filter (where x.hr = 17), 0), coalesce(sum(x.n) filter (where x.hr = 18), 0), coalesce(sum(x.n) filter (where x.hr = 19), 0), coalesce(sum(x.n) filter (where x.hr = 20), 0), coalesce(sum(x.n) filter (where x.hr = 21), 0), coalesce(sum(x.n) filter (where x.hr = 22), 0), coalesce(sum(x.n) filter (where x.hr = 23), 0)]::int[] as hours
          from (select *, extract(hour from bucket)::int as hr from analytics_hourly) x
         group by org_id, kind, bucket::date, team_id, assignee_id, category_id, source, game_id,
                  platform, build, region, priority) h
 where d.org_id = h.org_id and d.kind = h.kind and d.bucket = h.day
   and d.team_id is not distinct from h.team_id and d.assignee_id is not distinct from h.assignee_id
   and d.category_id is not distinct from h.category_id and d.source = h.source
   and d.game_id is not distinct from h.game_id and d.platform is not distinct from h.platform
   and d.build is not distinct from h.build and d.region is not distinct from h.region
   and d.priority = h.priority;
update analytics_daily_dim d set hours = h.hours
  from (select org_id, kind, bucket::date as day, dim, value,
               array[coalesce(sum(x.n) filter (where x.hr = 0), 0), coalesce(sum(x.n) filter (where x.hr = 1), 0), coalesce(sum(x.n) filter (where x.hr = 2), 0), coalesce(sum(x.n) filter (where x.hr = 3), 0), coalesce(sum(x.n) filter (where x.hr = 4), 0), coalesce(sum(x.n) filter (where x.hr = 5), 0), coalesce(sum(x.n) filter (where x.hr = 6), 0), coalesce(sum(x.n) filter (where x.hr = 7), 0), coalesce(sum(x.n) filter (where x.hr = 8), 0), coalesce(sum(x.n) filter (where x.hr = 9), 0), coalesce(sum(x.n) filter (where x.hr = 10), 0), coalesce(sum(x.n) filter (where x.hr = 11), 0), coalesce(sum(x.n) filter (where x.hr = 12), 0), coalesce(sum(x.n) filter (where x.hr = 13), 0), coalesce(sum(x.n) filter (where x.hr = 14), 0), coalesce(sum(x.n) filter (where x.hr = 15), 0), coalesce(sum(x.n) filter (where x.hr = 16), 0), coalesce(sum(x.n) filter (where x.hr = 17), 0), coalesce(sum(x.n) filter (where x.hr = 18), 0), coalesce(sum(x.n) filter (where x.hr = 19), 0), coalesce(sum(x.n) filter (where x.hr = 20), 0), coalesce(sum(x.n) filter (where x.hr = 21), 0), coalesce(sum(x.n) filter (where x.hr = 22), 0), coalesce(sum(x.n) filter (where x.hr = 23), 0)]::int[] as hours
          from (select *, extract(hour from bucket)::int as hr from analytics_hourly_dim) x
         group by org_id, kind, bucket::date, dim, value) h
 where d.org_id = h.org_id and d.kind = h.kind and d.bucket = h.day and d.dim = h.dim
   and d.value is not distinct from h.value;

-- Existing tickets are refolded by the next scheduled fold (their reply rows split per reply,
-- their next response and business times computed): noted as stale, which the fold already
-- takes. A one-off cost per organization, the size of a backfill.
alter table analytics_stale_tickets no force row level security;
alter table tickets no force row level security;
insert into analytics_stale_tickets (org_id, ticket_id)
select org_id, id from tickets
on conflict do nothing;
alter table tickets force row level security;
alter table analytics_stale_tickets force row level security;
alter table analytics_daily force row level security;
alter table analytics_hourly force row level security;
alter table analytics_daily_dim force row level security;
alter table analytics_hourly_dim force row level security;

-- Down Migration

alter table analytics_daily_dim drop column hours;
alter table analytics_daily drop column hours;
alter table analytics_daily_dim drop column bdur_n, drop column bdur_sum, drop column bdur_hist;
alter table analytics_hourly_dim drop column bdur_n, drop column bdur_sum, drop column bdur_hist;
alter table analytics_daily drop column bdur_n, drop column bdur_sum, drop column bdur_hist;
alter table analytics_hourly drop column bdur_n, drop column bdur_sum, drop column bdur_hist;
alter table analytics_contributions drop column bdur_s;
