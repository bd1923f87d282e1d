import type { Locale } from '../lib/i18n/locales.js';
import { type MessageKey, t } from '../lib/i18n/messages.js';

/**
 * What a value failed to be, in the asker's language, for the handler's "That is not accepted"
 * (bot/handler.ts). A `validation_failed` error reaches the bot from db/ with only zod's English
 * message per issue (`details`: the API's machine-facing body, which stays English), so the
 * issue is read back from that message: zod's own English wording (zod v4's `en` locale) and the
 * few words db/ gives its key-like fields. Anything else is told as "not in the expected form"
 * rather than in English; English readers keep the original message.
 */

type Said = readonly [MessageKey, Record<string, string | number>?];

const NUMBER = String.raw`(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)`;

// zod v4 `en`: `Too big: expected string to have <=100 characters`, `Too small: expected number to be >=1`.
const SIZED = new RegExp(
  String.raw`^Too (big|small): expected (\w+) to have (<=|>=|<|>|exactly )${NUMBER} (characters|items|entries|bytes)$`,
);
const RANGED = new RegExp(String.raw`^Too (big|small): expected \w+ to be (<=|>=|<|>|exactly )${NUMBER}$`);
const TYPE = /^Invalid input: expected [\w ]+, received (\w+)$/;
const OPTIONS = /^Invalid option: expected one of (.+)$/;
const ONE = /^Invalid input: expected (.+)$/;
// db/'s words for key-like fields (tags, canned reply names, category and game keys).
const KEY = /^letters, digits(, - and _| and _| and -), at most (\d+)$/;

function read(message: string): Said | null {
  const sized = SIZED.exec(message);
  if (sized) {
    const [, way, origin, op, n] = sized;
    const value = Number(n);
    const text = origin === 'string';
    if (op === 'exactly ') return text ? ['invalid.exactLength', { count: value }] : null;
    if (way === 'big')
      return [text ? 'invalid.tooLong' : 'invalid.tooMany', { max: op === '<' ? value - 1 : value }];
    const min = op === '>' ? value + 1 : value;
    if (text && min === 1) return ['invalid.empty'];
    return [text ? 'invalid.tooShort' : 'invalid.tooFew', { min }];
  }
  const ranged = RANGED.exec(message);
  if (ranged) {
    const [, way, op, n] = ranged;
    if (op === 'exactly ') return null;
    if (way === 'big')
      return op === '<' ? ['invalid.below', { max: n as string }] : ['invalid.tooBig', { max: n as string }];
    return op === '>' ? ['invalid.above', { min: n as string }] : ['invalid.tooSmall', { min: n as string }];
  }
  const type = TYPE.exec(message);
  if (type) return type[1] === 'undefined' ? ['invalid.required'] : null;
  const options = OPTIONS.exec(message) ?? ONE.exec(message);
  if (options) {
    // `"low"|"high"` as zod writes the values: each as it is named, a command's choice value.
    const values = (options[1] as string).split('|').map((v) => v.replace(/^"(.*)"$/, '$1'));
    return ['invalid.choice', { values: values.join(', ') }];
  }
  const key = KEY.exec(message);
  if (key) {
    const which: MessageKey =
      key[1] === ', - and _'
        ? 'invalid.keyDashUnderscore'
        : key[1] === ' and _'
          ? 'invalid.keyUnderscore'
          : 'invalid.keyDash';
    return [which, { max: Number(key[2]) }];
  }
  return null;
}

/** One zod issue's message in the reader's language. */
export function validationText(message: string, locale: Locale): string {
  const said = read(message);
  if (said) return t(locale, said[0], said[1] ?? {});
  return locale === 'en-US' ? message : t(locale, 'invalid.form');
}
