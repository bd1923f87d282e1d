-- Up Migration

-- Modmail: tickets whose player talks to staff by direct message with the bot. The ticket's
-- private thread is staff-only; the bot records the player's DMs on the ticket and the workers
-- relay each message the other way (`discord.dm_relay`). `dm_refused_at` is set when Discord
-- refused a DM to the player (50007: DMs closed, or no shared server any more) and cleared by the
-- next DM that goes through; `refusal_noticed_at` says staff were told in the thread, once per
-- such run of refusals.
create table discord_dm_tickets (
  org_id             uuid not null references organizations (id) on delete cascade,
  ticket_id          uuid not null,
  discord_user_id    text not null check (discord_user_id ~ '^[0-9]{17,20}$'),
  dm_refused_at      timestamptz,
  refusal_noticed_at timestamptz,
  created_at         timestamptz not null default now(),
  primary key (org_id, ticket_id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create index discord_dm_tickets_user_idx on discord_dm_tickets (discord_user_id, created_at desc);

-- One row per message relayed between a DM and the ticket's thread (or to the DM of a game or
-- email ticket's linked player): the relay job's idempotency record. `refused`: Discord would not
-- deliver it (50007), not tried again; `skipped`: nothing to relay (a note for nobody).
create table discord_dm_relays (
  org_id             uuid not null references organizations (id) on delete cascade,
  message_id         uuid not null,
  target             text not null check (target in ('dm', 'thread')),
  outcome            text not null check (outcome in ('posted', 'refused', 'skipped')),
  discord_message_id text check (char_length(discord_message_id) between 1 and 32),
  created_at         timestamptz not null default now(),
  primary key (org_id, message_id),
  foreign key (org_id, message_id) references messages (org_id, id) on delete cascade
);

alter table discord_dm_tickets enable row level security;
alter table discord_dm_tickets force row level security;
create policy tenant_isolation on discord_dm_tickets for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- gm_dm_tickets_for_user reads it before any tenant is known (a DM carries no guild)
create policy definer_read on discord_dm_tickets for select to current_user using (true);
grant select, insert, update, delete on discord_dm_tickets to gamemod_app;

alter table discord_dm_relays enable row level security;
alter table discord_dm_relays force row level security;
create policy tenant_isolation on discord_dm_relays for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on discord_dm_relays to gamemod_app;

-- A DM to the bot carries a user and no guild: the user's most recent DM tickets, ids only (the
-- bot then reads each under its own tenant to find one still open).
create function gm_dm_tickets_for_user(discord_user_id text)
returns table (org_id uuid, ticket_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select d.org_id, d.ticket_id from public.discord_dm_tickets d
   where d.discord_user_id = gm_dm_tickets_for_user.discord_user_id
   order by d.created_at desc limit 10
$$;
revoke execute on function gm_dm_tickets_for_user(text) from public;
grant execute on function gm_dm_tickets_for_user(text) to gamemod_app;

-- A player's first DM: which of the servers the bot is in are linked, in one round trip instead
-- of one gm_org_for_guild per server.
create function gm_linked_guilds(guild_ids text[])
returns table (guild_id text, org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select g.guild_id, g.org_id from public.discord_guilds g
   where g.guild_id = any(gm_linked_guilds.guild_ids[1:10000])
$$;
revoke execute on function gm_linked_guilds(text[]) from public;
grant execute on function gm_linked_guilds(text[]) to gamemod_app;

-- Down Migration

drop function gm_linked_guilds(text[]);
drop function gm_dm_tickets_for_user(text);
drop table discord_dm_relays;
drop table discord_dm_tickets;
