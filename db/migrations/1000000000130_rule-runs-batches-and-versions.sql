-- Up Migration

-- The rules job settles the rules that do not run on an event (no match, or skipped) as one row
-- per stretch of them, the stretch in `misses` ([{ruleId, ruleName, outcome, reason}] in rule
-- order), instead of one row each: with 100 rules, one row per rule and event was most of an
-- event's cost (bench/README.md). Such a row has no rule_id; the first rule of the stretch is its
-- claim, so a replayed job that settles the same stretch again logs nothing.
alter table rule_runs alter column rule_name drop not null;
alter table rule_runs add column misses jsonb
  check (misses is null or (jsonb_typeof(misses) = 'array' and jsonb_array_length(misses) between 1 and 200));
alter table rule_runs add constraint rule_runs_row_kind
  check ((misses is null) = (rule_name is not null));
create unique index rule_runs_stretch on rule_runs (org_id, outbox_id, ((misses -> 0 ->> 'ruleId')))
  where misses is not null;

-- A version per organization's rule set, bumped by any change to its rules, so the workers can
-- keep an org's rules between events and read one small row to know they are still current.
create table rule_sets (
  org_id   uuid primary key references organizations (id) on delete cascade,
  version  bigint not null default 1
);
alter table rule_sets enable row level security;
alter table rule_sets force row level security;
create policy tenant_isolation on rule_sets for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update on rule_sets to gamemod_app;

create function gm_rules_bump_version() returns trigger
language plpgsql
set search_path = pg_catalog, public
as $$
begin
  -- A deletion only updates: when the organization itself is being deleted, its rules go by
  -- cascade and a new rule_sets row would reference an organization that is gone.
  if tg_op = 'DELETE' then
    update public.rule_sets set version = version + 1 where org_id = old.org_id;
  else
    insert into public.rule_sets (org_id) values (new.org_id)
    on conflict (org_id) do update set version = rule_sets.version + 1;
  end if;
  return null;
end
$$;
create trigger rules_version after insert or update or delete on rules
  for each row execute function gm_rules_bump_version();

-- Every organization that has rules gets its row now (rules is forced under RLS with no policy
-- for the owner, so the force is lifted for this one statement inside the migration).
alter table rules no force row level security;
insert into rule_sets (org_id) select distinct org_id from rules on conflict do nothing;
alter table rules force row level security;

-- Down Migration

drop trigger rules_version on rules;
drop function gm_rules_bump_version();
drop table rule_sets;
drop index rule_runs_stretch;
delete from rule_runs where misses is not null;
alter table rule_runs drop constraint rule_runs_row_kind;
alter table rule_runs drop column misses;
alter table rule_runs alter column rule_name set not null;
