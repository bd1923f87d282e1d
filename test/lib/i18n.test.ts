import { describe, expect, it } from 'vitest';
import { commandData } from '../../bot/registry.js';
import { commandPaths, localizeCommands } from '../../lib/i18n/commands.js';
import { DISCORD_LOCALES, LOCALES, pickLocale } from '../../lib/i18n/locales.js';
import { CATALOGS, type MessageKey, placeholders, t } from '../../lib/i18n/messages.js';

/**
 * The shipped languages: every catalog has every key and every placeholder of the English one,
 * translates every slash command, subcommand, option and choice, and only with names and lengths
 * Discord accepts (its own checks, as the notes on Discord record them).
 */
const TRANSLATED = LOCALES.filter((l) => l !== 'en-US');
const EN = CATALOGS['en-US'];
const KEYS = Object.keys(EN.messages) as MessageKey[];
// Discord's locales (docs: Reference, Locales).
const DISCORD = new Set(
  'id da de en-GB en-US es-ES es-419 fr hr it lt hu nl no pl pt-BR ro fi sv-SE vi tr cs el bg ru uk hi th zh-CN ja zh-TW ko'.split(
    ' ',
  ),
);
const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

describe('message catalogs', () => {
  it('ship English, German, French, Spanish and Brazilian Portuguese under Discord locale codes', () => {
    expect([...LOCALES].sort()).toEqual(['de', 'en-US', 'es-ES', 'fr', 'pt-BR']);
    for (const l of LOCALES) for (const d of DISCORD_LOCALES[l]) expect(DISCORD.has(d), d).toBe(true);
  });

  for (const locale of TRANSLATED) {
    it(`${locale}: every key, the same placeholders, nothing left in English or empty`, () => {
      const messages = CATALOGS[locale].messages;
      expect(Object.keys(messages).sort()).toEqual([...KEYS].sort());
      for (const key of KEYS) {
        expect(placeholders(messages[key]), `${locale} ${key}`).toEqual(placeholders(EN.messages[key]));
        expect(messages[key].trim().length, `${locale} ${key}`).toBeGreaterThan(0);
      }
      const untranslated = KEYS.filter(
        (k) => messages[k] === EN.messages[k] && /[a-z]{4,}/.test(EN.messages[k]),
      );
      expect(untranslated, `${locale} keys still in English`).toEqual([]);
    });
  }

  it("fits Discord's limits where a message is a label (a modal field 45, a button 80)", () => {
    for (const locale of LOCALES) {
      const m = CATALOGS[locale].messages;
      expect(m['rating.commentLabel'].length, locale).toBeLessThanOrEqual(45);
      expect(t(locale, 'rating.modalTitle', { stars: '★★★★★' }).length, locale).toBeLessThanOrEqual(45);
      for (const k of [
        'transcript.button',
        'transcript.open',
        'rating.linkLabel',
        'ticket.newButton',
      ] as const)
        expect(m[k].length, `${locale} ${k}`).toBeLessThanOrEqual(80);
    }
  });

  it('fills placeholders and keeps an unknown one visible', () => {
    expect(t('de', 'closing.dm', { number: 12, subject: 'Lag' })).toBe(
      'Dein Ticket #12 „Lag“ wurde geschlossen.',
    );
    expect(t('en-US', 'rating.thanks', { number: 3 })).toBe('Thanks for rating ticket #3 {stars}.');
  });

  it("picks the user's language, then the server's, then English", () => {
    expect(pickLocale('de', 'fr')).toBe('de');
    expect(pickLocale('ja', 'fr')).toBe('fr');
    expect(pickLocale('es-419')).toBe('es-ES');
    expect(pickLocale('en-GB', 'de')).toBe('en-US');
    expect(pickLocale('de-AT')).toBe('de');
    expect(pickLocale('pt-PT')).toBe('pt-BR');
    expect(pickLocale(null, undefined, 'ko')).toBe('en-US');
    expect(pickLocale()).toBe('en-US');
  });
});

interface Node {
  name: string;
  type?: number;
  description?: string;
  options?: Node[];
  choices?: Array<{ value: string | number; name_localizations?: Record<string, string> }>;
  name_localizations?: Record<string, string>;
  description_localizations?: Record<string, string>;
}

describe('slash command localizations', () => {
  const commands = commandData() as unknown as Node[];
  const paths = commandPaths(commands);

  for (const locale of TRANSLATED) {
    it(`${locale}: translates every command, subcommand, option and choice, and nothing else`, () => {
      const table = CATALOGS[locale].commands;
      expect(Object.keys(table).sort()).toEqual([...paths].sort());
      const choicePaths: string[] = [];
      const walk = (n: Node, path: string) => {
        if (n.choices) {
          choicePaths.push(path);
          const labels = CATALOGS[locale].choices[path] ?? {};
          expect(Object.keys(labels).sort(), path).toEqual(n.choices.map((c) => String(c.value)).sort());
        }
        for (const o of n.options ?? []) walk(o, `${path}.${o.name}`);
      };
      for (const c of commands) walk(c, c.name);
      expect(Object.keys(CATALOGS[locale].choices).sort()).toEqual(choicePaths.sort());
    });
  }

  it('uses only names and lengths Discord accepts, unique among siblings in each language', () => {
    const localized = localizeCommands(commands);
    const problems: string[] = [];
    const check = (siblings: Node[], path: string, chatInput: boolean) => {
      const seen = new Map<string, Set<string>>();
      for (const n of siblings) {
        const where = path ? `${path}.${n.name}` : n.name;
        for (const [d, name] of Object.entries(n.name_localizations ?? {})) {
          if (!DISCORD.has(d)) problems.push(`${where}: ${d} is not a Discord locale`);
          if (chatInput && (!CHAT_INPUT_NAME.test(name) || name !== name.toLowerCase()))
            problems.push(`${where} ${d}: "${name}" is not a valid command name`);
          if (!chatInput && (name.length < 1 || name.length > 32))
            problems.push(`${where} ${d}: "${name}" is not 1-32 characters`);
          const names = seen.get(d) ?? new Set();
          if (names.has(name)) problems.push(`${where} ${d}: "${name}" twice among its siblings`);
          names.add(name);
          seen.set(d, names);
        }
        for (const [d, text] of Object.entries(n.description_localizations ?? {})) {
          if (text.length < 1 || text.length > 100)
            problems.push(`${where} ${d}: description of ${text.length}`);
        }
        for (const c of n.choices ?? [])
          for (const [d, label] of Object.entries(c.name_localizations ?? {}))
            if (label.length < 1 || label.length > 100)
              problems.push(`${where}=${c.value} ${d}: label "${label}"`);
        if (!chatInput && n.description_localizations)
          problems.push(`${where}: a context menu has no description`);
        if (n.options) check(n.options, where, chatInput);
      }
    };
    check(
      localized.filter((c) => (c.type ?? 1) === 1),
      '',
      true,
    );
    check(
      localized.filter((c) => (c.type ?? 1) !== 1),
      '',
      false,
    );
    expect(problems).toEqual([]);
    // Each translated language is there, both Spanish codes included.
    const ticket = localized.find((c) => c.name === 'ticket');
    expect(ticket?.description_localizations).toMatchObject({
      de: 'Tickets eröffnen und bearbeiten',
      fr: expect.any(String),
      'es-ES': expect.any(String),
      'es-419': expect.any(String),
      'pt-BR': expect.any(String),
    });
  });
});
