import { DiscordAPIError } from '@discordjs/rest';
import { listCategories } from '../db/categories.js';
import { livePanels, recordPanelGone, recordPanelRendered } from '../db/discord-panels.js';
import { withTenant } from '../db/tenant.js';
import { panelHash, panelMessage } from '../lib/discord/panels.js';
import { editMessage, type RequestExtras } from '../lib/discord/rest.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import { guildLocale } from './guild-locale.js';
import type { JobData } from './jobs.js';
import { permanentError } from './queues.js';

/**
 * `discord.panel_sync`: after a category changed (created, renamed, described, its form changed,
 * archived), every panel the org posted is edited to offer the categories as they are now. Each
 * panel records what it shows (a hash), so a replayed job, or a change that does not show on a
 * panel (a form's questions), edits nothing. A panel Discord no longer has (its message or
 * channel deleted) is recorded as gone and never tried again.
 */

const edits = counter('gamemod_discord_panel_edits_total', 'Ticket panel edits', ['outcome']);

/** Unknown Channel, Unknown Message: the panel is gone for good. */
const GONE = new Set([10003, 10008]);
const PERMANENT = new Map<number, string>([
  [50001, 'the bot has no access to a panel’s channel'],
  [50013, 'the bot lacks a permission it needs to edit a panel'],
]);

export async function syncPanels(deps: WorkerDeps, data: JobData<'discord.panel_sync'>): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const x: RequestExtras = deps.shutdown ? { signal: deps.shutdown } : {};
  // The org's panels stay locked while they are edited: a second job (the next change) waits,
  // then reads the categories as they are after both changes and finds its edit done or due.
  const refused = await withTenant(deps.pool, data.orgId, async (tx) => {
    const panels = await livePanels(tx, { lock: true });
    const categories = panels.length ? await listCategories(tx) : [];
    let why: string | undefined;
    for (const p of panels) {
      const message = panelMessage(p, categories, await guildLocale(rest, p.guildId, x));
      const hash = panelHash(message);
      if (hash === p.renderedHash) continue;
      try {
        await editMessage(rest, p.channelId, p.messageId, message, x);
        await recordPanelRendered(tx, p.id, hash);
        edits.inc({ outcome: 'edited' });
      } catch (err) {
        const code = err instanceof DiscordAPIError ? Number(err.code) : undefined;
        if (code !== undefined && GONE.has(code)) {
          await recordPanelGone(tx, p.id, code);
          edits.inc({ outcome: 'gone' });
          deps.logger.info({ panelId: p.id, code }, 'a ticket panel is gone from Discord');
          continue;
        }
        const permanent = code !== undefined ? PERMANENT.get(code) : undefined;
        if (!permanent) throw err;
        // The other panels still get their edit; this one waits for an admin to fix the bot's access.
        edits.inc({ outcome: 'refused' });
        why = permanent;
      }
    }
    return why;
  });
  if (refused) throw permanentError(refused);
}
