-- Up Migration

-- Whether the subscription's session is known to workers by its mark in Redis (lib/session-marks.ts):
-- true for subscriptions made since sessions are marked, whose Web Push stops, and whose row is
-- removed, once their session has timed out. Rows made before keep going until signed out (their
-- session may have no mark yet, and an unmarked live session must not lose its devices).
alter table push_subscriptions add column session_marked boolean not null default false;

-- Down Migration

alter table push_subscriptions drop column session_marked;
