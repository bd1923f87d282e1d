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
// Discord's own German and Brazilian clients call forum tags "Tags" too; "Normal" is the word
// for the priority in German, Spanish and Portuguese as well; a file's size is in "bytes" in
// Spanish and Portuguese too; a canned reply's neutral category is "general" in Spanish as well.
const SAME_WORD: Partial<Record<(typeof LOCALES)[number], MessageKey[]>> = {
  de: ['ticket.tags', 'ticket.infoTags', 'priority.normal', 'team.online'],
  'es-ES': ['priority.normal', 'transcriptPage.size', 'canned.categoryFallback'],
  'pt-BR': ['ticket.tags', 'ticket.infoTags', 'priority.normal', 'transcriptPage.size', 'team.online'],
};
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
        (k) =>
          messages[k] === EN.messages[k] &&
          /[a-z]{4,}/.test(EN.messages[k]) &&
          !SAME_WORD[locale]?.includes(k),
      );
      expect(untranslated, `${locale} keys still in English`).toEqual([]);
    });
  }

  it("fits Discord's limits where a message is a label, a title or a placeholder", () => {
    // Discord refuses the whole response when one of these is over (docs: Message Components,
    // Modals): a modal title and a text input label 45, a placeholder 100, a button label 80,
    // an embed title 256 and footer 2,048, a message 2,000.
    const limits: Array<[MessageKey, number, Record<string, string | number>?]> = [
      ['rating.commentLabel', 45],
      ['rating.modalTitle', 45, { stars: '★★★★★' }],
      ['form.title', 45],
      ['form.subjectLabel', 45],
      ['form.detailsLabel', 45],
      ['close.modalTitle', 45],
      ['close.reasonLabel', 45],
      ['close.reasonPlaceholder', 100],
      ['transcript.button', 80],
      ['transcript.open', 80],
      ['rating.linkLabel', 80],
      ['ticket.newButton', 80],
      ['summary.claim', 80],
      ['summary.close', 80],
      ['summary.setPriority', 100],
      ['priority.urgent', 100],
      ['dm.chooseServer', 100],
      ['panel.chooseTopic', 100],
      ['panel.defaultTitle', 256],
      ['summary.answerSubject', 256],
      ['summary.answerMessage', 256],
      ['summary.answerOpenedBy', 256],
      ['dm.chooseCategory', 100],
      ['summary.reported', 256],
      [
        'summary.footerClaimed',
        2048,
        { priority: 'x'.repeat(20), status: 'x'.repeat(20), name: 'x'.repeat(100) },
      ],
      ['notes.title', 256, { number: 999_999 }],
      ['notes.footer', 2048, { page: 99, pages: 99, count: 9999 }],
    ];
    for (const locale of LOCALES)
      for (const [key, max, params] of limits)
        expect(t(locale, key, params).length, `${locale} ${key}`).toBeLessThanOrEqual(max);
  });

  it('leaves room in a 2,000-character message for what fills the placeholders', () => {
    // Each placeholder at 100 characters (a request id, a link, a subject cut at 100); the
    // longer inserts (a refusal reason, warnings) are cut by the caller.
    for (const locale of LOCALES)
      for (const key of KEYS) {
        const filled = t(
          locale,
          key,
          Object.fromEntries(placeholders(EN.messages[key]).map((p) => [p, 'x'.repeat(100)])),
        );
        expect(filled.length, `${locale} ${key}`).toBeLessThanOrEqual(1900);
      }
  });

  it('tells a player refused a link, in every language, that staff can unlink first', () => {
    // What each language calls undoing a link, as its catalog says it.
    const unlink: Record<(typeof LOCALES)[number], RegExp> = {
      'en-US': /staff can unlink/,
      de: /Team kann die Verknüpfung zuerst aufheben/,
      fr: /l’équipe peut d’abord le dissocier/,
      'es-ES': /el equipo puede desvincularla primero/,
      'pt-BR': /a equipe pode desvinculá-la antes/,
    };
    for (const locale of LOCALES)
      for (const key of ['deny.gameAccountLinkedElsewhere', 'deny.discordLinkedElsewhere'] as const)
        expect(t(locale, key), `${locale} ${key}`).toMatch(unlink[locale]);
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
