import { AppError } from '../lib/errors.js';
import { pickLocale } from '../lib/i18n/locales.js';
import { t } from '../lib/i18n/messages.js';
import type { CannedVariables } from './canned-replies.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * The variables a ticket supplies to a canned reply: its number, subject, category and the
 * requester's name, plus the agent's name when one is given. Unknown tickets are `not_found`.
 */
export async function cannedVariablesForTicket(
  tx: Tx,
  ticketId: string,
  agentUserId?: string,
): Promise<CannedVariables> {
  const { locale: _, ...vars } = await readVariables(tx, ticketId, agentUserId ?? null, false);
  return vars;
}

/**
 * A canned reply sent to the player as rendered, with nobody to read it first (a rule's, or one
 * sent from Discord's `/reply`), so every variable it may name has a value. `{agent}` names the
 * member the ticket is with (as a rule's earlier actions left it, an `assign_in_team` included;
 * `/reply` puts the sender's name over it), else a neutral "our team"; `{player}` the player's
 * name, else a neutral "player" (a ticket opened through the API with no requester, a game
 * account that gave no name, an erased player); `{category}` the category, else "general". The
 * neutral words are in the ticket's language (else the player's), as the reply is read in it.
 */
export async function cannedVariablesToSend(tx: Tx, ticketId: string): Promise<CannedVariables> {
  const { locale, ...vars } = await readVariables(tx, ticketId, null, true);
  const l = pickLocale(locale);
  return {
    ...vars,
    agent: vars.agent ?? t(l, 'canned.agentFallback'),
    player: vars.player ?? t(l, 'canned.playerFallback'),
    category: vars.category ?? t(l, 'canned.categoryFallback'),
  };
}

async function readVariables(
  tx: Tx,
  ticketId: string,
  agentUserId: string | null,
  assignee: boolean,
): Promise<CannedVariables & { locale: string | null }> {
  const r = await tx.query<{
    number: number;
    subject: string;
    category: string | null;
    player: string | null;
    agent: string | null;
    locale: string | null;
  }>(
    `select t.number, t.subject, c.name as category, p.display_name as player,
       (select u.display_name from users u
         where u.id = coalesce($3::uuid, case when $4::boolean then t.assignee_id end)) as agent,
       coalesce(t.locale, p.locale) as locale
     from tickets t
     left join ticket_categories c on c.org_id = t.org_id and c.id = t.category_id
     left join player_profiles p on p.org_id = t.org_id and p.id = t.requester_id
     where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, parseInput(id, ticketId), agentUserId, assignee],
  );
  const row = r.rows[0];
  if (!row) throw new AppError('not_found', 'ticket not found');
  return {
    ticket: row.number,
    subject: row.subject,
    category: row.category ?? undefined,
    player: row.player ?? undefined,
    agent: row.agent ?? undefined,
    locale: row.locale,
  };
}
