-- Up Migration

-- When a member takes tickets, in their own zone: {"timeZone": "Europe/Berlin", "week": {"mon":
-- [[540, 1080]], ...}} (minutes after local midnight, end exclusive; a day left out is a day off;
-- db/working-hours.ts checks the shape). Null: always. Auto-assignment gives tickets only to
-- members in their working hours, so a ticket never waits on someone asleep.
alter table memberships add column working_hours jsonb
  check (working_hours is null or jsonb_typeof(working_hours) = 'object');

-- An assignee offline for this many minutes has their open team tickets handed to a member who
-- is online (workers/reassign.ts; null: never). Staff presence lives in Redis, so only the
-- threshold is here.
alter table organizations add column reassign_offline_minutes integer
  check (reassign_offline_minutes between 5 and 10080);

-- Down Migration

alter table organizations drop column reassign_offline_minutes;
alter table memberships drop column working_hours;
