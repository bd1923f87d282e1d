import { z } from 'zod';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Modmail routing across organizations: a DM carries a user and no guild, and one bot serves
 * many organizations. Which organizations already know a Discord user (a first DM looks there
 * first), which ticket a relayed DM came from (a Discord reply to it goes back there), and the
 * open conversations a DM may belong to. The cross-tenant look-ups return ids only; each ticket
 * is then read under its own tenant.
 */

const MESSAGE_IDS = z.array(snowflake).min(1).max(20);

async function ids<T>(pool: Pool, text: string, values: unknown[]): Promise<T[]> {
  const r = await pool.query<T & object>({ text, values }).catch((e) => {
    throw mapDbError(e);
  });
  return r.rows;
}

/** The organizations where this Discord user has a player profile or is a member (ids only). */
export async function knownOrgs(pool: Pool, discordUserId: string): Promise<Set<string>> {
  const rows = await ids<{ orgId: string }>(
    pool,
    'select org_id as "orgId" from gm_dm_known_orgs($1::text)',
    [parseInput(snowflake, discordUserId)],
  );
  return new Set(rows.map((x) => x.orgId));
}

export interface TicketRef {
  orgId: string;
  ticketId: string;
}

/** The ticket a message the relay sent to this user came from, if it was sent to them. */
export async function relayedMessageTicket(
  pool: Pool,
  discordMessageId: string,
  discordUserId: string,
): Promise<TicketRef | undefined> {
  const rows = await ids<TicketRef>(
    pool,
    'select org_id as "orgId", ticket_id as "ticketId" from gm_dm_relayed_message($1::text, $2::text)',
    [parseInput(snowflake, discordMessageId), parseInput(snowflake, discordUserId)],
  );
  return rows[0];
}

/** The tickets whose replies most recently reached this user's DM, in any organization (ids only). */
export async function relayedTicketsForUser(pool: Pool, discordUserId: string): Promise<TicketRef[]> {
  return ids<TicketRef>(
    pool,
    'select org_id as "orgId", ticket_id as "ticketId" from gm_dm_relayed_tickets_for_user($1::text)',
    [parseInput(snowflake, discordUserId)],
  );
}

/**
 * Inside the relay's record of a DM it posted: the Discord ids of the posted parts, so a Discord
 * reply to any of them finds this ticket. A replay records nothing twice.
 */
export async function recordRelayedDmMessages(
  tx: Tx,
  input: { ticketId: string; discordUserId: string; discordMessageIds: readonly string[] },
): Promise<void> {
  const messageIds = parseInput(MESSAGE_IDS, [...input.discordMessageIds]);
  await tx.query(
    `insert into discord_dm_relayed_messages (discord_message_id, org_id, ticket_id, discord_user_id)
     select m, $1::uuid, $2::uuid, $3::text from unnest($4::text[]) as m
     on conflict do nothing`,
    [tx.orgId, parseInput(id, input.ticketId), parseInput(snowflake, input.discordUserId), messageIds],
  );
}

export interface Conversation {
  orgId: string;
  orgName: string;
  ticketId: string;
  number: number;
  subject: string;
  /** A modmail ticket (opened by DM), rather than one whose replies reach the DM. */
  dm: boolean;
  lastActivityAt: Date;
}

/**
 * The ticket if a DM from this Discord user may be recorded on it: still open (not closed, not
 * merged away) and theirs, as its modmail player or as the requester whose profile carries this
 * Discord id. Read under the ticket's tenant, so the ids from the look-ups above are checked here.
 */
export async function openConversation(
  tx: Tx,
  ticketId: string,
  discordUserId: string,
): Promise<Conversation | undefined> {
  const r = await tx.query<Conversation>(
    `select t.org_id as "orgId", o.name as "orgName", t.id as "ticketId", t.number, t.subject,
       d.ticket_id is not null as dm, greatest(t.updated_at, t.created_at) as "lastActivityAt"
     from tickets t
     join organizations o on o.id = t.org_id
     left join discord_dm_tickets d on d.org_id = t.org_id and d.ticket_id = t.id
     left join player_profiles p on p.org_id = t.org_id and p.id = t.requester_id
     where t.org_id = $1::uuid and t.id = $2::uuid and t.status <> 'closed' and t.merged_into_id is null
       and (d.discord_user_id = $3::text or p.discord_user_id = $3::text)`,
    [tx.orgId, parseInput(id, ticketId), parseInput(snowflake, discordUserId)],
  );
  return r.rows[0];
}
