/**
 * The languages GameMod speaks to players and in its slash commands, by Discord's locale codes
 * (`interaction.locale`, `guild_locale`, a guild's `preferred_locale`). English is the source;
 * each other locale is a catalog in this folder that the tests hold to the same keys and
 * placeholders.
 */
export const LOCALES = ['en-US', 'de', 'fr', 'es-ES', 'pt-BR'] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * The Discord locales each catalog answers for: Discord has two English and two Spanish codes,
 * and one catalog reads well for both of each pair.
 */
export const DISCORD_LOCALES: Record<Locale, readonly string[]> = {
  'en-US': ['en-US', 'en-GB'],
  de: ['de'],
  fr: ['fr'],
  'es-ES': ['es-ES', 'es-419'],
  'pt-BR': ['pt-BR'],
};

const byDiscordLocale = new Map(
  LOCALES.flatMap((l) => DISCORD_LOCALES[l].map((d) => [d.toLowerCase(), l] as const)),
);

/** A locale code's catalog, also for a region GameMod lacks (`de-AT` → `de`), or null. */
function catalogFor(code: string): Locale | null {
  const lower = code.trim().toLowerCase();
  const exact = byDiscordLocale.get(lower);
  if (exact) return exact;
  const language = lower.split(/[-_]/)[0] ?? '';
  return LOCALES.find((l) => l.toLowerCase().split('-')[0] === language) ?? null;
}

/**
 * The first of the candidates a catalog exists for, in order (the user's own locale, then the
 * server's), else English.
 */
export function pickLocale(...candidates: ReadonlyArray<string | null | undefined>): Locale {
  for (const c of candidates) {
    const l = c ? catalogFor(c) : null;
    if (l) return l;
  }
  return 'en-US';
}
