import { AppError } from '../lib/errors.js';
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
  const r = await tx.query<{
    number: number;
    subject: string;
    category: string | null;
    player: string | null;
    agent: string | null;
  }>(
    `select t.number, t.subject, c.name as category, p.display_name as player,
       (select u.display_name from users u where u.id = $3::uuid) as agent
     from tickets t
     left join ticket_categories c on c.org_id = t.org_id and c.id = t.category_id
     left join player_profiles p on p.org_id = t.org_id and p.id = t.requester_id
     where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, parseInput(id, ticketId), agentUserId ?? null],
  );
  const row = r.rows[0];
  if (!row) throw new AppError('not_found', 'ticket not found');
  return {
    ticket: row.number,
    subject: row.subject,
    category: row.category ?? undefined,
    player: row.player ?? undefined,
    agent: row.agent ?? undefined,
  };
}
