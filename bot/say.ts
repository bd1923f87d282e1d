import { AppError, type ErrorCode } from '../lib/errors.js';
import { type Locale, pickLocale } from '../lib/i18n/locales.js';
import { type MessageKey, t } from '../lib/i18n/messages.js';

export type Params = Record<string, string | number>;

/**
 * The language to answer one person in: their client's (`interaction.locale`), then the
 * server's (`guild_locale`), then English. Replies to a press or a command go to that person only.
 */
export function localeOf(i: { locale?: string | null; guildLocale?: string | null }): Locale {
  return pickLocale(i.locale, i.guildLocale);
}

/**
 * A refusal whose words come from the catalog. The message stays English (logs, the API's own
 * errors read the same); the interaction handler shows `key` in the asker's language, which it
 * alone knows, so code deep in a flow can refuse without being handed a locale.
 */
export class Refusal extends AppError {
  readonly key: MessageKey;
  readonly params: Params;

  constructor(code: ErrorCode, key: MessageKey, params: Params = {}, cause?: unknown) {
    super(code, t('en-US', key, params), cause === undefined ? {} : { cause });
    this.key = key;
    this.params = params;
  }
}

export const refuse = (code: ErrorCode, key: MessageKey, params: Params = {}, cause?: unknown) =>
  new Refusal(code, key, params, cause);

/** A refusal in the asker's language; any other error keeps its own message. */
export function refusalText(err: AppError, locale: Locale): string {
  return err instanceof Refusal ? t(locale, err.key, err.params) : err.message;
}
