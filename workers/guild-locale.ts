import type { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import type { RequestExtras } from '../lib/discord/rest.js';
import { type Locale, pickLocale } from '../lib/i18n/locales.js';

/**
 * A server's own language (Discord's `preferred_locale`, which a Community server's admins set),
 * for what the workers post for its staff: the ticket's summary (the bot draws it in the same
 * language at opening, from its gateway cache), the transcript notice, the DM relay's warning.
 * The workers have no gateway, so it is asked of Discord and kept for a while per process.
 */

const TTL_MS = 10 * 60_000;
const known = new Map<string, { locale: Locale; at: number }>();

export async function guildLocale(
  rest: REST,
  guildId: string | null | undefined,
  x: RequestExtras = {},
): Promise<Locale> {
  if (!guildId) return 'en-US';
  const hit = known.get(guildId);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.locale;
  try {
    const g = (await rest.get(Routes.guild(guildId), x)) as { preferred_locale?: string };
    const locale = pickLocale(g.preferred_locale);
    known.set(guildId, { locale, at: Date.now() });
    return locale;
  } catch (err) {
    // A stop interrupts; anything else (the bot left the server, Discord failing) costs the
    // post its language, not the post: English, asked again next time.
    if (x.signal?.aborted) throw err;
    return hit?.locale ?? 'en-US';
  }
}
