import { type Locale, pickLocale } from '../lib/i18n/locales.js';

export { type Param, type Params, Refusal, refusalText, refuse } from '../lib/i18n/refusal.js';

/**
 * The language to answer one person in: their client's (`interaction.locale`), then the
 * server's (`guild_locale`), then English. Replies to a press or a command go to that person only.
 */
export function localeOf(i: { locale?: string | null; guildLocale?: string | null }): Locale {
  return pickLocale(i.locale, i.guildLocale);
}
