import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * No English literal creeps back into what the bot answers or the workers post into a ticket:
 * a reply, a refusal, a label, a title or a placeholder written as a string literal fails here
 * unless it is listed below with why it stays. New text goes to lib/i18n/replies/.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const WORKER_FILES = [
  'workers/ticket-sync.ts',
  'workers/ticket-sync-steps.ts',
  'workers/close-requests.ts',
  'workers/dm-relay.ts',
  'lib/discord/components.ts',
  'lib/discord/panels.ts',
];

// Text in a literal: a quote or backtick followed by at least two words of letters.
const TEXT = String.raw`['\`](?:<[@#][^>]*>\s*)?[A-Za-z][a-z]+[ ,][^'\`]*[a-z]`;
const PATTERNS = [
  new RegExp(String.raw`respond\(\s*i,\s*${TEXT}`),
  new RegExp(String.raw`\b(?:content|label|placeholder|title|description):\s*${TEXT}`),
  new RegExp(String.raw`\.set(?:Label|Title|Placeholder)\(\s*${TEXT}`),
  new RegExp(String.raw`new AppError\(\s*'\w+',\s*${TEXT}`),
];

/** `file: snippet` that may stay English, each with its reason. */
const ALLOWED: Record<string, string> = {
  // Never shown: a logged internal failure, answered with the generic (localized) message.
  "bot/auth.ts: 'the Discord account was not found after it was made'": 'internal, not shown',
  // Only a command registered out of step with the code reaches it.
  'bot/commands/ticket.ts: `Unknown subcommand': 'deploy mismatch',
  // Stored answers' labels: the ticket's record (panel, API, summary), not an answer to anyone.
  "bot/commands/ticket.ts: label: 'Subject'": 'stored with the ticket',
  "bot/commands/context-menus.ts: label: 'Message text'": 'stored with the ticket',
  "bot/commands/context-menus.ts: label: 'Opened by staff'": 'stored with the ticket',
  // "Ticket #12 · subject": the same word in every shipped language.
  'bot/ticket-text.ts: title: `Ticket #': 'the same in every language',
  'lib/discord/components.ts: title: `Ticket #': 'the same in every language',
};

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function allowed(file: string, line: string): boolean {
  return Object.keys(ALLOWED).some((k) => {
    const [f, snippet] = k.split(/: (.*)/s) as [string, string | undefined];
    return f === file && (snippet === undefined || line.includes(snippet.replace(/^label: /, '')));
  });
}

function englishLiterals(file: string, source: string): string[] {
  return source
    .split('\n')
    .map((line, n) => ({ line, n: n + 1 }))
    .filter(({ line }) => !line.trim().startsWith('//') && !line.trim().startsWith('*'))
    .filter(({ line }) => PATTERNS.some((p) => p.test(line)) && !allowed(file, line))
    .map(({ line, n }) => `${file}:${n}: ${line.trim()}`);
}

describe('reply paths', () => {
  it('hold no English literal outside the allowlist', () => {
    const found = [...files('bot'), ...WORKER_FILES].flatMap((f) => {
      const rel = relative(ROOT, join(ROOT, f));
      return englishLiterals(rel, readFileSync(join(ROOT, f), 'utf8'));
    });
    expect(found).toEqual([]);
  });

  it('catches the shapes it is meant to catch', () => {
    const caught = englishLiterals(
      'bot/x.ts',
      [
        "    await respond(i, 'Panel posted.');",
        '    content: `<@123> is taking care of this ticket.`,',
        "          .setLabel('Reason (optional)')",
        "    throw new AppError('forbidden', 'You need the permission.');",
        "    await respond(i, say(locale, 'panel.posted'));",
      ].join('\n'),
    );
    expect(caught).toHaveLength(4);
  });
});
