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
 * someone else on the ticket (`participant`: a member added to its thread, a forum bystander).
 */
export function authorKind(actor: Actor, participant: boolean | undefined): AuthorKind {
  if (actor.type === 'user' || actor.type === 'token') return 'staff';
  if (actor.type !== 'player') return 'system';
  return participant ? 'participant' : 'player';
}

/**
 * Whether staff added this player's Discord account to the ticket (`/ticket add`) and did not
 * remove it since. Such a participant is a witness or a second player staff asked in, so their
 * message wakes a ticket waiting on the player's side; anyone else (a bystander in a public
 * forum post) could reopen any solved post by writing in it.
 */
export async function addedToTicket(tx: Tx, ticketId: string, playerId: string): Promise<boolean> {
  const r = await tx.query<{ added: boolean }>(
    `select e.type = 'ticket.member_added' as added
       from player_profiles p
       join ticket_events e on e.org_id = p.org_id and e.ticket_id = $2::uuid
        and e.type in ('ticket.member_added', 'ticket.member_removed')
        and e.data ->> 'discordUserId' = p.discord_user_id
      where p.org_id = $1::uuid and p.id = $3::uuid
      order by e.id desc limit 1`,
    [tx.orgId, ticketId, playerId],
  );
  return r.rows[0]?.added ?? false;
}
