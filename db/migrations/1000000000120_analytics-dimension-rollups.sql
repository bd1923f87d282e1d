-- Up Migration

-- Narrow rollups for the dashboards (db/analytics-read.ts). analytics_hourly and analytics_daily
-- keep a row per bucket and combination of all nine dimensions: a 90-day dashboard of one org
-- summed thousands of rows with their histograms on every request (p99 several hundred ms at
-- 10,000 tickets an org). The panel asks for everything, or filters or groups by one
-- dimension; these tables hold exactly that: per kind and local bucket, one row for the total
-- (dim '*', value null) and one per value of each dimension (dim the rollup column's name, value
-- as text, null where the ticket had none). A query naming two or more dimensions still reads
-- the wide tables. The fold keeps both in the same statement, from the same delta.
create table analytics_daily_dim (
  org_id      uuid not null references organizations (id) on delete cascade,
  kind        text not null check (kind in ('opened', 'resolved', 'reply')),
  dim         text not null,
  bucket      date not null,
  value       text,
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
  -- Reads are (org, kind, dim, bucket range): the key's order serves them and the fold's upsert.
  unique nulls not distinct (org_id, kind, dim, bucket, value)
);
create index analytics_daily_dim_empty_idx on analytics_daily_dim (org_id) where n = 0;

create table analytics_hourly_dim (like analytics_daily_dim including defaults including constraints);
alter table analytics_hourly_dim alter column bucket type timestamp;
alter table analytics_hourly_dim add foreign key (org_id) references organizations (id) on delete cascade;
alter table analytics_hourly_dim add unique nulls not distinct (org_id, kind, dim, bucket, value);
create index analytics_hourly_dim_empty_idx on analytics_hourly_dim (org_id) where n = 0;

-- What is already folded, summed from the wide rollups (the same numbers the fold would write).
-- The wide tables force row-level security with policies for the app role only; the migration's
-- role reads them across tenants for this statement alone (the transaction puts it back).
alter table analytics_daily no force row level security;
alter table analytics_hourly no force row level security;
insert into analytics_daily_dim (org_id, kind, bucket, dim, value, n, dur_n, dur_sum, dur_hist, sla,
  breached, escalated, reopened, merged, rated, rating_sum, rating_hist)
select r.org_id, r.kind, r.bucket, d.dim, d.value, sum(n)::int, sum(dur_n)::int, sum(dur_sum)::bigint,
       array[sum(dur_hist[1]), sum(dur_hist[2]), sum(dur_hist[3]), sum(dur_hist[4]), sum(dur_hist[5]), sum(dur_hist[6]), sum(dur_hist[7]), sum(dur_hist[8]), sum(dur_hist[9]), sum(dur_hist[10]), sum(dur_hist[11]), sum(dur_hist[12]), sum(dur_hist[13]), sum(dur_hist[14]), sum(dur_hist[15]), sum(dur_hist[16]), sum(dur_hist[17]), sum(dur_hist[18]), sum(dur_hist[19]), sum(dur_hist[20]), sum(dur_hist[21]), sum(dur_hist[22]), sum(dur_hist[23]), sum(dur_hist[24])]::int[],
       sum(sla)::int, sum(breached)::int, sum(escalated)::int, sum(reopened)::int, sum(merged)::int,
       sum(rated)::int, sum(rating_sum)::int, array[sum(rating_hist[1]), sum(rating_hist[2]), sum(rating_hist[3]), sum(rating_hist[4]), sum(rating_hist[5])]::int[]
  from analytics_daily r
 cross join lateral (values ('*', null::text),
                          ('team_id', team_id::text),
                          ('assignee_id', assignee_id::text),
                          ('category_id', category_id::text),
                          ('source', source::text),
                          ('game_id', game_id::text),
                          ('platform', platform::text),
                          ('build', build::text),
                          ('region', region::text),
                          ('priority', priority::text)) d(dim, value)
 group by r.org_id, r.kind, r.bucket, d.dim, d.value;

insert into analytics_hourly_dim (org_id, kind, bucket, dim, value, n, dur_n, dur_sum, dur_hist, sla,
  breached, escalated, reopened, merged, rated, rating_sum, rating_hist)
select r.org_id, r.kind, r.bucket, d.dim, d.value, sum(n)::int, sum(dur_n)::int, sum(dur_sum)::bigint,
       array[sum(dur_hist[1]), sum(dur_hist[2]), sum(dur_hist[3]), sum(dur_hist[4]), sum(dur_hist[5]), sum(dur_hist[6]), sum(dur_hist[7]), sum(dur_hist[8]), sum(dur_hist[9]), sum(dur_hist[10]), sum(dur_hist[11]), sum(dur_hist[12]), sum(dur_hist[13]), sum(dur_hist[14]), sum(dur_hist[15]), sum(dur_hist[16]), sum(dur_hist[17]), sum(dur_hist[18]), sum(dur_hist[19]), sum(dur_hist[20]), sum(dur_hist[21]), sum(dur_hist[22]), sum(dur_hist[23]), sum(dur_hist[24])]::int[],
       sum(sla)::int, sum(breached)::int, sum(escalated)::int, sum(reopened)::int, sum(merged)::int,
       sum(rated)::int, sum(rating_sum)::int, array[sum(rating_hist[1]), sum(rating_hist[2]), sum(rating_hist[3]), sum(rating_hist[4]), sum(rating_hist[5])]::int[]
  from analytics_hourly r
 cross join lateral (values ('*', null::text),
                          ('team_id', team_id::text),
                          ('assignee_id', assignee_id::text),
                          ('category_id', category_id::text),
                          ('source', source::text),
                          ('game_id', game_id::text),
                          ('platform', platform::text),
                          ('build', build::text),
                          ('region', region::text),
                          ('priority', priority::text)) d(dim, value)
 group by r.org_id, r.kind, r.bucket, d.dim, d.value;

alter table analytics_daily force row level security;
alter table analytics_hourly force row level security;

alter table analytics_daily_dim enable row level security;
alter table analytics_daily_dim force row level security;
create policy tenant_isolation on analytics_daily_dim for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_hourly_dim enable row level security;
alter table analytics_hourly_dim force row level security;
create policy tenant_isolation on analytics_hourly_dim for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on analytics_daily_dim, analytics_hourly_dim to gamemod_app;

-- Down Migration

drop table analytics_hourly_dim;
drop table analytics_daily_dim;
