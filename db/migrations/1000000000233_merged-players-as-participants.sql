-- Up Migration

-- Merging ticket B (player Y) into ticket A (player X) moves B's conversation to A. A merge now
-- marks Y's moved messages as a participant's (db/ticket-merge.ts, participants.ts), and what Y
-- writes later to B from the game or by email lands on A as a participant's. Tickets merged
-- before that still hold Y's messages as A's player's: A's next-response waits and analytics
-- counted them, its player sentiment read Y's words, and X's game showed them as X's own.
--
-- They become a participant's here, as a merge writes them now: on each ticket that absorbed
-- others (tickets.merged_into_id, through chains of merges too, since every hop moved the
-- messages on), the `player` messages written by the player of a ticket merged into it, unless
-- that player is the ticket's own. A ticket with no player of its own (opened through the API)
-- keeps them as its player's, as a merge leaves them. Two profiles of one person are the same
-- player: a game account linked to a profile (`linked_player_id`, migration 228) is that
-- profile. Messages keep their author and their own sentiment score, as a merge keeps them.
--
-- What reads the kind afterwards: each changed ticket's player sentiment is its latest scored,
-- undeleted player message's again (db/message-sentiment.ts refreshTicketSentiment), and the
-- ticket is noted for the next analytics fold (analytics_stale_tickets, as db/privacy-scrub.ts
-- does), which refolds its replies and next-response waits. Rules and the SDK read the kind live.
--
-- Read and written with the force lifted for this one statement (the owner has no policy on
-- these tables), as migration 218 did.
alter table messages no force row level security;
alter table tickets no force row level security;
alter table player_profiles no force row level security;
alter table analytics_stale_tickets no force row level security;
with recursive absorbed (org_id, ticket_id, source_id) as (
  select s.org_id, s.merged_into_id, s.id from tickets s where s.merged_into_id is not null
  union
  select a.org_id, a.ticket_id, s.id
    from absorbed a join tickets s on s.org_id = a.org_id and s.merged_into_id = a.source_id
), brought as (
  select distinct a.org_id, a.ticket_id, s.requester_id as player_id
    from absorbed a join tickets s on s.org_id = a.org_id and s.id = a.source_id
   where s.requester_id is not null
), moved as (
  update messages m set author_kind = 'participant'
    from brought b
    join tickets t on t.org_id = b.org_id and t.id = b.ticket_id
    join player_profiles author on author.org_id = b.org_id and author.id = b.player_id
    join player_profiles own on own.org_id = t.org_id and own.id = t.requester_id
   where m.org_id = b.org_id and m.ticket_id = b.ticket_id
     and m.author_kind = 'player' and m.author_player_id = b.player_id
     and coalesce(author.linked_player_id, author.id) <> coalesce(own.linked_player_id, own.id)
  returning m.id, m.org_id, m.ticket_id
), touched as (
  select distinct org_id, ticket_id from moved
), refold as (
  insert into analytics_stale_tickets (org_id, ticket_id)
  select org_id, ticket_id from touched
  on conflict do nothing
)
-- The statement's snapshot still shows the moved messages as the player's: they are left out.
update tickets t set player_sentiment_label = latest.label, player_sentiment_score = latest.score
  from touched x
  left join lateral (
    select m.sentiment_label as label, m.sentiment_score as score from messages m
     where m.org_id = x.org_id and m.ticket_id = x.ticket_id and m.author_kind = 'player'
       and m.deleted_at is null and m.sentiment_label is not null
       and not exists (select 1 from moved v where v.id = m.id)
     order by m.created_at desc, m.id desc limit 1
  ) latest on true
 where t.org_id = x.org_id and t.id = x.ticket_id
   and (t.player_sentiment_label, t.player_sentiment_score) is distinct from (latest.label, latest.score);
alter table analytics_stale_tickets force row level security;
alter table player_profiles force row level security;
alter table tickets force row level security;
alter table messages force row level security;

-- Down Migration

-- Nothing to undo: the messages are a participant's as a merge writes them now, and a merge made
-- since cannot be told from one made before.
select 1;
