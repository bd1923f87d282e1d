import { z } from 'zod';
import type { Actor } from './changes.js';
import { recordGuildAction } from './guilds.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Ticket panels the bot posted (`/panel`): where each is and what it was posted with, so the
 * workers' `discord.panel_sync` can edit it in place when the categories it offers change, and
 * stop trying once Discord says the message or its channel is gone.
 */

export interface DiscordPanel {
  id: string;
  guildId: string;
  channelId: string;
  messageId: string;
  title: string;
  description: string;
  style: 'buttons' | 'select';
  renderedHash: string | null;
}

const COLUMNS = `id, guild_id as "guildId", channel_id as "channelId", message_id as "messageId", title, description,
  style, rendered_hash as "renderedHash"`;

export const panelInput = z.object({
  guildId: snowflake,
  channelId: snowflake,
  messageId: snowflake,
  title: z.string().min(1).max(256),
  description: z.string().max(2000),
  style: z.enum(['buttons', 'select']),
  renderedHash: z.string().max(128),
  categoryIds: z.array(id).max(25),
});

/** A panel just posted: recorded for later edits, and audited as the staff action it is. */
export async function recordPanel(tx: Tx, raw: z.input<typeof panelInput>, actor: Actor): Promise<void> {
  const p = parseInput(panelInput, raw);
  await tx.query(
    `insert into discord_panels (org_id, guild_id, channel_id, message_id, title, description, style, rendered_hash)
     values ($1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text)
     on conflict (org_id, message_id) do nothing`,
    [tx.orgId, p.guildId, p.channelId, p.messageId, p.title, p.description, p.style, p.renderedHash],
  );
  await recordGuildAction(
    tx,
    p.guildId,
    'guild.panel_posted',
    { channelId: p.channelId, messageId: p.messageId, categories: p.categoryIds, style: p.style },
    actor,
  );
}

/** The org's panels Discord still has, as far as we know. */
export async function livePanels(tx: Tx, opts: { lock?: boolean } = {}): Promise<DiscordPanel[]> {
  const r = await tx.query<DiscordPanel>(
    `select ${COLUMNS} from discord_panels where org_id = $1::uuid and gone_at is null order by created_at
     ${opts.lock ? 'for update' : ''}`,
    [tx.orgId],
  );
  return r.rows;
}

/** The panel now shows what `hash` stands for. */
export async function recordPanelRendered(tx: Tx, panelId: string, hash: string): Promise<void> {
  await tx.query(
    `update discord_panels set rendered_hash = $3::text, updated_at = now() where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, panelId), hash],
  );
}

/** Discord no longer has the message (10008) or its channel (10003): never tried again. */
export async function recordPanelGone(tx: Tx, panelId: string, code: number): Promise<void> {
  await tx.query(
    `update discord_panels set gone_at = coalesce(gone_at, now()), gone_code = $3::int, updated_at = now()
     where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, panelId), code],
  );
}
