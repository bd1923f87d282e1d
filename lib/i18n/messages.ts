import { de } from './de.js';
import { en } from './en.js';
import { esES } from './es-ES.js';
import { fr } from './fr.js';
import type { Locale } from './locales.js';
import { ptBR } from './pt-BR.js';

/**
 * Player-facing text by key, in the player's language: `t(locale, 'closing.dm', { number: 12 })`.
 * Placeholders are `{name}`; every catalog has every key of the English one and the same
 * placeholders (test/lib/i18n.test.ts), so a translation can't drop a ticket number.
 */
export type MessageKey = keyof typeof en.messages;
export type Messages = Record<MessageKey, string>;

export interface Catalog {
  messages: Messages;
  /**
   * Slash command names and descriptions by the command's path (`ticket.close.reason`): a name
   * (lowercase, as Discord requires) and a description; English comes from the builders.
   */
  commands: Record<string, readonly [name: string, description: string]>;
  /** Choice labels by option path and choice value. */
  choices: Record<string, Record<string, string>>;
}

export const CATALOGS: Record<Locale, Catalog> = {
  'en-US': en,
  de,
  fr,
  'es-ES': esES,
  'pt-BR': ptBR,
};

/** `{name}` placeholders of a message, sorted: what every translation must keep. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();
}

export function t(locale: Locale, key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = CATALOGS[locale].messages[key] ?? en.messages[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
