-- Up Migration

-- The rules that did not run before a rule that does are now logged on that rule's own row
-- (its `misses`), written with its actions in one transaction: one insert per event rather than
-- two. A row with `misses` and no rule remains for the rules after the last one that runs.
alter table rule_runs drop constraint rule_runs_row_kind;
alter table rule_runs add constraint rule_runs_row_kind check (rule_name is not null or misses is not null);

-- Down Migration

alter table rule_runs no force row level security;
update rule_runs set misses = null where rule_name is not null and misses is not null;
alter table rule_runs force row level security;
alter table rule_runs drop constraint rule_runs_row_kind;
alter table rule_runs add constraint rule_runs_row_kind check ((misses is null) = (rule_name is not null));
