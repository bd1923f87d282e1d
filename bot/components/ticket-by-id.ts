import { type DiscordTicket, discordTicket } from '../../db/discord-sync.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import type { Who } from '../auth.js';
import type { Ctx } from '../handler.js';
import { refuse } from '../say.js';
import { ticketHere } from '../tickets.js';

/** The ticket a component names (`-`: the one of the channel), checked to belong to this guild. */
export async function ticketForComponent(
  ctx: Ctx,
  who: Who,
  ticketId: string | undefined,
  channelId: string | null,
): Promise<DiscordTicket> {
  if (!ticketId || ticketId === '-') return (await ticketHere(ctx, who.guildId, channelId)).ticket;
  if (!isUuid(ticketId)) throw refuse('bad_request', 'error.staleButton');
  const t = await withTenant(ctx.deps.pool, who.orgId, (tx) => discordTicket(tx, ticketId)).catch(
    () => undefined,
  );
  if (!t || t.discordGuildId !== who.guildId) throw refuse('not_found', 'refuse.ticketGone');
  return t;
}
