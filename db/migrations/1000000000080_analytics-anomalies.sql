-- Up Migration

-- Anomaly alerts on ticket volume (workers/anomalies.ts, db/analytics-anomalies.ts).
--
-- Per organization and metric, an exponentially weighted mean and variance of the hourly count,
-- folded hour by hour up to `upto` (the start of the first UTC hour not in it yet), and the
-- start of the spike already alerted while it lasts: the spike's later hours and every fold in
-- between raise nothing more.
create table analytics_anomaly_baselines (
  org_id      uuid not null references organizations (id) on delete cascade,
  metric      text not null check (metric in ('tickets_opened')),
  upto        timestamptz not null,
  mean        double precision not null default 0,
  variance    double precision not null default 0,
  hours       int not null default 0,
  spike_since timestamptz,
  primary key (org_id, metric)
);

-- One row per spike alerted; the unique key is what makes a second alert for the same spike
-- (a retried job, two worker processes) a no-op.
create table analytics_anomalies (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  metric      text not null,
  hour        timestamptz not null,
  observed    int not null,
  baseline    double precision not null,
  threshold   double precision not null,
  detected_at timestamptz not null default now(),
  unique (org_id, metric, hour)
);

alter table analytics_anomaly_baselines enable row level security;
alter table analytics_anomaly_baselines force row level security;
create policy tenant_isolation on analytics_anomaly_baselines for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_anomalies enable row level security;
alter table analytics_anomalies force row level security;
create policy tenant_isolation on analytics_anomalies for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on analytics_anomaly_baselines, analytics_anomalies to gamemod_app;

-- Down Migration

drop table analytics_anomalies;
drop table analytics_anomaly_baselines;
