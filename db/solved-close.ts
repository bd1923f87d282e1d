import { recordChange, SYSTEM } from './changes.js';
import type { Tx } from './tenant.js';
import { reply, setStatus } from './tickets.js';

/**
 * Closing solved tickets the player never came back to. A solved ticket waits for the player to
 * confirm; a word from them puts it back to open (db/ticket-messages.ts `reply`). After the
 * organization's `solved_close_hours` of silence it is closed by the system, as Zendesk's
 * "solved, then closed after N days". Measured on the database's clock, like auto-close.ts.
 */

export async function solvedCloseHours(tx: Tx): Promise<number | null> {
  const r = await tx.query<{ hours: number | null }>(
    'select solved_close_hours as hours from organizations where id = $1::uuid',
    [tx.orgId],
  );
  return r.rows[0]?.hours ?? null;
}

/** Solved tickets whose delay is over, solved longest ago first. */
export async function dueSolved(tx: Tx, hours: number, batch = 500): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select id from tickets where org_id = $1::uuid and status = 'solved'
       and solved_at <= now() - make_interval(hours => $2::int)
     order by solved_at limit $3::int`,
    [tx.orgId, hours, batch],
  );
  return r.rows.map((t) => t.id);
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
const delayText = (hours: number) => (hours % 24 === 0 ? plural(hours / 24, 'day') : plural(hours, 'hour'));

/**
 * Closes the ticket if it is still solved and was solved at least `hours` ago (re-checked under
 * its row lock, so overlapping sweeps close it once). A ticket without a Discord side gets the
 * notice as a system message, which reaches the player where they wrote from (email, their DM,
 * the game's ticket read); a Discord ticket's thread says it in its closing message, from the
 * close reason (workers' `discord.ticket_sync`). Returns whether it closed.
 */
export async function closeSolved(tx: Tx, ticketId: string, hours: number): Promise<boolean> {
  const r = await tx.query<{ solvedAt: Date; discordChannelId: string | null }>(
    `select solved_at as "solvedAt", discord_channel_id as "discordChannelId" from tickets
      where org_id = $1::uuid and id = $2::uuid and status = 'solved'
        and solved_at <= now() - make_interval(hours => $3::int)
      for update`,
    [tx.orgId, ticketId, hours],
  );
  const due = r.rows[0];
  if (!due) return false;
  const reason = `solved ${delayText(hours)} ago with no reply from the player`;
  // The system's reply keeps the ticket solved; its message.created event is what carries it out.
  const notice = due.discordChannelId
    ? null
    : await reply(
        tx,
        {
          ticketId,
          origin: 'api',
          body: `This ticket was marked solved ${delayText(hours)} ago and we have not heard back, so it is now closed. If you still need help, open a new ticket.`,
        },
        SYSTEM,
      );
  await recordChange(tx, SYSTEM, {
    ticketId,
    action: 'ticket.solved_close',
    data: { solvedAt: due.solvedAt, afterHours: hours, messageId: notice?.message.id ?? null },
  });
  await setStatus(tx, { ticketId, status: 'closed', reason }, SYSTEM);
  return true;
}
