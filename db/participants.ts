import type { Actor } from './changes.js';
import type { Tx } from './tenant.js';

/**
 * Who a ticket message speaks for, stored on its row (`messages.author_kind`, migration 218;
 * db/README.md, "Who a message speaks for"). Only `player` is the ticket's player: the SLA's and
 * the analytics' next response, the rules' player messages and waits, the player sentiment and a
 * close request's answer read that kind alone.
 */
export const AUTHOR_KINDS = ['player', 'participant', 'staff', 'system'] as const;
export type AuthorKind = (typeof AUTHOR_KINDS)[number];

/**
 * A member or an API token answers (an integration relays what its staff wrote); a rule's or the
 * system's message is `system`; a player account is the player unless the caller knows it is
 * someone else on the ticket (`participant`: a member added to its thread, a forum bystander, the
 * player of a ticket merged into it).
 */
export function authorKind(actor: Actor, participant: boolean | undefined): AuthorKind {
  if (actor.type === 'user' || actor.type === 'token') return 'staff';
  if (actor.type !== 'player') return 'system';
  return participant ? 'participant' : 'player';
}

/**
 * Whether staff brought this player onto the ticket: added their Discord account to it
 * (`/ticket add`) and did not remove it since, or merged a ticket of theirs into it (directly or
 * through a chain of merges). Such a participant is a witness, a second player staff asked in, or
 * someone whose own report lives on here now, so their message wakes a ticket waiting on the
 * player's side; anyone else (a bystander in a public forum post) could reopen any solved post
 * by writing in it.
 */
export async function addedToTicket(tx: Tx, ticketId: string, playerId: string): Promise<boolean> {
  const r = await tx.query<{ added: boolean }>(
    `with recursive merged (id) as (
       select s.id from tickets s where s.org_id = $1::uuid and s.merged_into_id = $2::uuid
       union
       select s.id from tickets s join merged m on s.merged_into_id = m.id where s.org_id = $1::uuid
     )
     select exists (select 1 from tickets s join merged m on m.id = s.id where s.requester_id = $3::uuid)
         or coalesce((
           select e.type = 'ticket.member_added'
             from player_profiles p
             join ticket_events e on e.org_id = p.org_id and e.ticket_id = $2::uuid
              and e.type in ('ticket.member_added', 'ticket.member_removed')
              and e.data ->> 'discordUserId' = p.discord_user_id
            where p.org_id = $1::uuid and p.id = $3::uuid
            order by e.id desc limit 1), false) as added`,
    [tx.orgId, ticketId, playerId],
  );
  return r.rows[0]?.added ?? false;
}
