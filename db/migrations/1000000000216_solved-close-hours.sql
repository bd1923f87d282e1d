-- Up Migration

-- A solved ticket waits for the player to confirm; after the organization's solved_close_hours
-- without a word from them it is closed by the auto-close sweep (null: solved tickets stay solved
-- until someone closes them). The sweep asks for the solved tickets due through the index.
alter table organizations add column solved_close_hours integer
  check (solved_close_hours between 1 and 8760);

create index tickets_solved_wait_idx on tickets (org_id, solved_at) where status = 'solved';

-- Down Migration

drop index tickets_solved_wait_idx;
alter table organizations drop column solved_close_hours;
