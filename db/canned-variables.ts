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
 * A rule's canned reply has no member writing it: `{agent}` names the member the ticket is with
 * (as the rule's earlier actions left it, an `assign_in_team` included), and when nobody has it a
 * neutral "our team" in the player's language, so the player never reads a raw `{agent}`.
 */
export async function cannedVariablesForRule(tx: Tx, ticketId: string): Promise<CannedVariables> {
  const { locale, ...vars } = await readVariables(tx, ticketId, null, true);
  return { ...vars, agent: vars.agent ?? t(pickLocale(locale), 'canned.agentFallback') };
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
