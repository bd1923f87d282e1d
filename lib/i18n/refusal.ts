import { AppError, type ErrorCode } from '../errors.js';
import type { Locale } from './locales.js';
import { type MessageKey, t } from './messages.js';

/**
 * A value filled into a message: as it is named (a ticket number, a channel mention, a role key),
 * or words that are themselves in the reader's language (Discord's permission names), given as a
 * function of the locale.
 */
export type Param = string | number | ((locale: Locale) => string);
export type Params = Record<string, Param>;

function fill(params: Params, locale: Locale): Record<string, string | number> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, typeof v === 'function' ? v(locale) : v]),
  );
}

/** A message by key with its params filled for that locale. */
export function say(locale: Locale, key: MessageKey, params: Params = {}): string {
  return t(locale, key, fill(params, locale));
}

/**
 * A refusal whose words come from the catalog. The message stays English (logs, the API's own
 * errors read the same); whoever shows it to a person (the bot's interaction handler, which
 * alone knows the asker's language) renders `key` in that person's language. Code that knows no
 * reader (db/, deep in a flow) refuses with it without being handed a locale.
 */
export class Refusal extends AppError {
  readonly key: MessageKey;
  readonly params: Params;

  constructor(code: ErrorCode, key: MessageKey, params: Params = {}, cause?: unknown, details?: unknown) {
    super(code, say('en-US', key, params), {
      ...(cause === undefined ? {} : { cause }),
      ...(details === undefined ? {} : { details }),
    });
    this.key = key;
    this.params = params;
  }

  /** The refusal in a reader's language. */
  text(locale: Locale): string {
    return say(locale, this.key, this.params);
  }
}

export const refuse = (
  code: ErrorCode,
  key: MessageKey,
  params: Params = {},
  cause?: unknown,
  details?: unknown,
) => new Refusal(code, key, params, cause, details);

/** A refusal in the reader's language; any other error keeps its own message. */
export function refusalText(err: AppError, locale: Locale): string {
  return err instanceof Refusal ? err.text(locale) : err.message;
}
