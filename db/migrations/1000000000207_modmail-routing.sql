-- Up Migration

-- Modmail routing across organizations.
--
-- A first DM looks first in the organizations where the sender is already known (a player
-- profile with their Discord id, or a membership of the account their Discord login is linked
-- to) before asking Discord about every other linked server: a bot in hundreds of servers would
-- otherwise ask for hundreds of member look-ups for each new conversation.
create index player_profiles_discord_user_id_idx on player_profiles (discord_user_id)
  where discord_user_id is not null;
-- gm_dm_known_orgs reads it before any tenant is known (a DM carries no guild)
create policy definer_read on player_profiles for select to current_user using (true);

create function gm_dm_known_orgs(discord_user_id text)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select p.org_id from public.player_profiles p
   where p.discord_user_id = gm_dm_known_orgs.discord_user_id
  union
  select m.org_id from public.discord_accounts a
    join public.memberships m on m.user_id = a.user_id
   where a.discord_user_id = gm_dm_known_orgs.discord_user_id
  limit 1000
$$;
revoke execute on function gm_dm_known_orgs(text) from public;
grant execute on function gm_dm_known_orgs(text) to gamemod_app;

-- Each message the relay posted into a player's DM, with the ticket it came from. A DM carries
-- no guild and no organization: when a player writes to several organizations through the one
-- bot, their Discord reply to one of these messages says which ticket it answers, so it never
-- lands in another organization's ticket. Keyed by Discord's message id (unique across Discord);
-- `discord_user_id` is the DM's recipient, the only one whose reply may follow it.
create table discord_dm_relayed_messages (
  discord_message_id text primary key check (discord_message_id ~ '^[0-9]{17,20}$'),
  org_id             uuid not null references organizations (id) on delete cascade,
  ticket_id          uuid not null,
  discord_user_id    text not null check (discord_user_id ~ '^[0-9]{17,20}$'),
  created_at         timestamptz not null default now(),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create index discord_dm_relayed_messages_user_idx
  on discord_dm_relayed_messages (discord_user_id, created_at desc);
create index discord_dm_relayed_messages_ticket_idx on discord_dm_relayed_messages (org_id, ticket_id);

alter table discord_dm_relayed_messages enable row level security;
alter table discord_dm_relayed_messages force row level security;
create policy tenant_isolation on discord_dm_relayed_messages for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- the two look-ups below read it before any tenant is known
create policy definer_read on discord_dm_relayed_messages for select to current_user using (true);
grant select, insert, delete on discord_dm_relayed_messages to gamemod_app;

-- A DM that is a Discord reply: the ticket of the relayed message it answers, only when that
-- message was sent to this user. Ids only; the bot reads the ticket under its tenant.
create function gm_dm_relayed_message(discord_message_id text, discord_user_id text)
returns table (org_id uuid, ticket_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select r.org_id, r.ticket_id from public.discord_dm_relayed_messages r
   where r.discord_message_id = gm_dm_relayed_message.discord_message_id
     and r.discord_user_id = gm_dm_relayed_message.discord_user_id
$$;
revoke execute on function gm_dm_relayed_message(text, text) from public;
grant execute on function gm_dm_relayed_message(text, text) to gamemod_app;

-- The tickets whose replies most recently reached this user's DM (a game, email or API ticket
-- of an organization that relays replies to Discord, or a modmail ticket), ten at most, ids
-- only: with gm_dm_tickets_for_user, the conversations a DM that is not a reply may belong to.
create function gm_dm_relayed_tickets_for_user(discord_user_id text)
returns table (org_id uuid, ticket_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select r.org_id, r.ticket_id
    from (select x.org_id, x.ticket_id, x.created_at from public.discord_dm_relayed_messages x
           where x.discord_user_id = gm_dm_relayed_tickets_for_user.discord_user_id
           order by x.created_at desc limit 200) r
   group by r.org_id, r.ticket_id
   order by max(r.created_at) desc limit 10
$$;
revoke execute on function gm_dm_relayed_tickets_for_user(text) from public;
grant execute on function gm_dm_relayed_tickets_for_user(text) to gamemod_app;

-- Down Migration

drop function gm_dm_relayed_tickets_for_user(text);
drop function gm_dm_relayed_message(text, text);
drop table discord_dm_relayed_messages;
drop function gm_dm_known_orgs(text);
drop policy definer_read on player_profiles;
drop index player_profiles_discord_user_id_idx;
