-- Up Migration

-- Web Push for the installed panel and the daily email digest (db/push-subscriptions.ts,
-- db/vapid-keys.ts, db/notification-digests.ts, workers/notification-push.ts,
-- workers/notification-digest.ts).

-- Secrets of the installation itself rather than of an organization: the VAPID key pair push
-- services know this installation by. Sealed with SECRET_KEY (lib/secret-box.ts). The app role
-- has no grant on the table: it reads and adds through the two functions below, so a query
-- under any tenant can never list it.
create table instance_secrets (
  name       text primary key check (name ~ '^[a-z][a-z0-9_]{1,62}$'),
  sealed     text not null check (char_length(sealed) between 1 and 4000),
  created_at timestamptz not null default now()
);
alter table instance_secrets enable row level security;
alter table instance_secrets force row level security;
-- Only the definer functions (run as this role) reach it.
create policy definer_access on instance_secrets for all to current_user using (true) with check (true);

create function gm_instance_secret(secret_name text)
returns text
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select s.sealed from public.instance_secrets s where s.name = gm_instance_secret.secret_name
$$;
revoke execute on function gm_instance_secret(text) from public;
grant execute on function gm_instance_secret(text) to gamemod_app;

-- Adds a secret unless one of that name exists, and returns the one kept: two processes
-- generating at once both end up with the first.
create function gm_add_instance_secret(secret_name text, secret_sealed text)
returns text
language plpgsql volatile security definer
set search_path = pg_catalog, public
as $$
begin
  insert into public.instance_secrets (name, sealed) values (secret_name, secret_sealed)
    on conflict (name) do nothing;
  return (select s.sealed from public.instance_secrets s where s.name = secret_name);
end
$$;
revoke execute on function gm_add_instance_secret(text, text) from public;
grant execute on function gm_add_instance_secret(text, text) to gamemod_app;

-- One browser (device) of a member that receives Web Push. The endpoint is the push service's
-- URL for that browser; p256dh and auth are the browser's keys the payload is encrypted to,
-- sealed with SECRET_KEY (anyone holding them and the endpoint can write to the device).
-- Unique per org and endpoint: a browser that subscribes again (or for another member after a
-- sign-in on a shared machine) replaces its row.
create table push_subscriptions (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  user_id     uuid not null,
  endpoint    text not null check (char_length(endpoint) between 12 and 2000 and endpoint ~ '^https?://'),
  keys_sealed text not null check (char_length(keys_sealed) between 1 and 2000),
  label       text check (char_length(label) between 1 and 100),
  created_at  timestamptz not null default now(),
  last_ok_at  timestamptz,
  unique (org_id, endpoint),
  unique (org_id, id),
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade
);
create index push_subscriptions_member on push_subscriptions (org_id, user_id);

-- Push is one delivery per notification (a channel like Discord and email), sent to each of the
-- member's devices; a device that already took it is recorded here, so a retry after one
-- device's 5xx sends only to the others.
create table push_sends (
  org_id          uuid not null references organizations (id) on delete cascade,
  notification_id uuid not null,
  subscription_id uuid not null,
  sent_at         timestamptz not null default now(),
  primary key (org_id, notification_id, subscription_id),
  foreign key (org_id, notification_id) references notifications (org_id, id) on delete cascade,
  foreign key (org_id, subscription_id) references push_subscriptions (org_id, id) on delete cascade
);

alter table notification_deliveries drop constraint notification_deliveries_channel_check;
alter table notification_deliveries add constraint notification_deliveries_channel_check
  check (channel in ('discord', 'email', 'push'));
alter table notification_prefs drop constraint notification_prefs_channel_check;
alter table notification_prefs add constraint notification_prefs_channel_check
  check (channel in ('panel', 'discord', 'email', 'push'));

-- The hour (in the member's time zone) their digest goes out.
alter table notification_settings add column digest_hour int not null default 8
  check (digest_hour between 0 and 23);

-- Which day's digest a held email delivery went into: set when that digest is claimed, so what
-- arrives while it is being sent waits for the next one.
alter table notification_deliveries add column digest_day date;

-- One digest per member and day (their own calendar day): the row is claimed before the mail is
-- sent and marked sent after, so a retried or repeated job never sends a day twice.
create table notification_digests (
  org_id     uuid not null references organizations (id) on delete cascade,
  user_id    uuid not null,
  day        date not null,
  status     text not null default 'sending' check (status in ('sending', 'sent', 'empty', 'failed')),
  items      int not null default 0 check (items >= 0),
  message_id text check (char_length(message_id) between 1 and 300),
  claimed_at timestamptz not null default now(),
  sent_at    timestamptz,
  primary key (org_id, user_id, day),
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade
);

alter table push_subscriptions enable row level security;
alter table push_subscriptions force row level security;
create policy tenant_isolation on push_subscriptions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
alter table push_sends enable row level security;
alter table push_sends force row level security;
create policy tenant_isolation on push_sends for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
alter table notification_digests enable row level security;
alter table notification_digests force row level security;
create policy tenant_isolation on notification_digests for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on push_subscriptions, push_sends, notification_digests to gamemod_app;

-- The digest sweep finds the organizations holding email for a digest before any tenant is set.
create policy definer_read on notification_deliveries for select to current_user using (true);
create function gm_orgs_with_digests()
returns setof uuid
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select distinct d.org_id from public.notification_deliveries d where d.status = 'digest'
$$;
revoke execute on function gm_orgs_with_digests() from public;
grant execute on function gm_orgs_with_digests() to gamemod_app;

-- Down Migration

drop function gm_orgs_with_digests();
drop policy definer_read on notification_deliveries;
drop table notification_digests;
alter table notification_deliveries drop column digest_day;
alter table notification_settings drop column digest_hour;
delete from notification_prefs where channel = 'push';
alter table notification_prefs drop constraint notification_prefs_channel_check;
alter table notification_prefs add constraint notification_prefs_channel_check
  check (channel in ('panel', 'discord', 'email'));
delete from notification_deliveries where channel = 'push';
alter table notification_deliveries drop constraint notification_deliveries_channel_check;
alter table notification_deliveries add constraint notification_deliveries_channel_check
  check (channel in ('discord', 'email'));
drop table push_sends;
drop table push_subscriptions;
drop function gm_add_instance_secret(text, text);
drop function gm_instance_secret(text);
drop table instance_secrets;
