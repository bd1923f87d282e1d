import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  escapeMarkdown,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { DiscordTicket } from '../../db/discord-sync.js';
import { dryRunOnTicket, type TicketDryRun } from '../../db/rule-dry-run.js';
import { listRuns, type RuleRun, runRuleNow } from '../../db/rule-runs.js';
import { withTenant } from '../../db/tenant.js';
import { isAppError } from '../../lib/errors.js';
import type { Locale } from '../../lib/i18n/locales.js';
import { type MessageKey, t } from '../../lib/i18n/messages.js';
import { onlineMembers } from '../../lib/presence.js';
import { requirePermission, type Who, whoAndTicketHere } from '../auth.js';
import { personOf } from '../discord-api.js';
import { type ComponentHandler, type Ctx, type RepliableInteraction, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';

/**
 * `/ticket rules`: the automation rules seen from one ticket, for its staff, always ephemeral.
 * The run log of the ticket (newest first, the same entries as the API's run log: which rule did
 * what, why the others did not), a dry run of every enabled rule on the ticket as it is now, and
 * for staff who may edit rules (`rules.manage`, as the API asks) a select to run a matching rule
 * now, through db/ exactly as `POST /rules/{ruleId}/run` does (logged, audited, as the rule).
 *
 * Reading the log and the dry run needs `tickets.read` (what reading the ticket needs): they say
 * what happened to this ticket, not how the rules are written. Buttons act on the ticket of the
 * channel they are pressed in, never on one their custom id names, so a button cannot reach
 * another ticket, and the run re-reads the rule inside the caller's org (another org's id is not
 * found). Rule names, reasons and action words are shown as the run log stores them.
 *
 * Discord's limits (notes/discord.md, enforced by the fake): one embed, its description cut to
 * PAGE_CHARS, a select of at most 25 options, at most 5 buttons a row; a page holds whole lines
 * and a stretch of 100 rules that did not match runs over as many pages as it takes.
 */

/** Room for one page's lines in an embed description (4,096), leaving space for a cut mark. */
export const PAGE_CHARS = 3_800;
/** A dry-run page holds at most this many rules, so its select (one option each) stays ≤ 25. */
export const DRY_PAGE_RULES = 25;
/** Entries read per look at the log: a page is never longer, so one read fills it. */
const LOG_READ = 60;
const REASON_CHARS = 200;

const NAME = (name: string) => escapeMarkdown(name.slice(0, 100));
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

type Say = (key: MessageKey, params?: Record<string, string | number>) => string;
const sayer =
  (locale: Locale): Say =>
  (key, params = {}) =>
    t(locale, key, params);

/** Where a log page starts: rows with an id below `before` (none: the newest), skipping `skip` entries of the first. */
export interface LogCursor {
  before: number | null;
  skip: number;
  page: number;
}

function entryLine(e: RuleRun, say: Say): string {
  const rule = NAME(e.ruleName);
  const reason = escapeMarkdown(cut(e.reason ?? '', REASON_CHARS));
  switch (e.outcome) {
    case 'applied':
      return say('rules.entryApplied', {
        rule,
        actions: escapeMarkdown(cut(e.actions.join('; '), REASON_CHARS)),
      });
    case 'failed':
      return say('rules.entryFailed', { rule, reason });
    case 'skipped':
      return say('rules.entrySkipped', { rule, reason });
    default:
      return say('rules.entryNotMatched', { rule, reason });
  }
}

function eventHeader(e: RuleRun, say: Say): string {
  const when = `<t:${Math.floor(new Date(e.createdAt).getTime() / 1000)}:R>`;
  return e.depth > 1
    ? say('rules.eventHeaderChain', { trigger: e.trigger, when, depth: e.depth })
    : say('rules.eventHeader', { trigger: e.trigger, when });
}

/**
 * One page of log entries from `entries` (newest first, as listRuns gives them, the first row's
 * first `skip` entries already shown): whole lines up to PAGE_CHARS, each event under a header.
 * Returns the text and where the next page starts (null: nothing older in what was read and the
 * read was short, so nothing older at all).
 */
export function logPage(
  entries: readonly RuleRun[],
  cursor: LogCursor,
  readWhole: boolean,
  say: Say,
): { text: string; next: LogCursor | null } {
  let text = '';
  let shownOfRow = 0;
  let rowId: number | null = null;
  let skip = cursor.skip;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k] as RuleRun;
    if (e.id !== rowId) {
      rowId = e.id;
      shownOfRow = 0;
    }
    if (skip > 0) {
      skip--;
      shownOfRow++;
      continue;
    }
    const header = shownOfRow === 0 || text === '' ? `${eventHeader(e, say)}\n` : '';
    const line = `${header}${entryLine(e, say)}`;
    const add = text ? `\n${header ? '\n' : ''}${line}` : line;
    if (text && text.length + add.length > PAGE_CHARS) {
      return { text, next: { before: e.id + 1, skip: shownOfRow, page: cursor.page + 1 } };
    }
    text += add.length > PAGE_CHARS ? add.slice(0, PAGE_CHARS) : add;
    shownOfRow++;
  }
  const last = entries.at(-1);
  // A short read holds everything older; a full one may stop before the end of the log.
  if (readWhole || !last) return { text, next: null };
  return { text, next: { before: last.id, skip: 0, page: cursor.page + 1 } };
}

const button = (customId: string, label: string, style = 2) => ({
  type: 2,
  style,
  label: label.slice(0, 80),
  custom_id: customId,
});
const row = (components: unknown[]) => ({ type: 1, components });

const logId = (c: LogCursor) => `gm:ruleslog:${c.before ?? '-'}:${c.skip}:${c.page}`;

type Answer = { content: string; embeds: unknown[]; components: unknown[] };

async function who(i: RepliableInteraction, ctx: Ctx): Promise<{ who: Who; ticket: DiscordTicket }> {
  return whoAndTicketHere(ctx.deps, i.guildId, i.channelId, personOf(i), ctx.requestId);
}

/** The ticket's run log at `cursor`, with Older / Newest and the dry run's button. */
async function logAnswer(
  ctx: Ctx,
  w: Who,
  ticket: DiscordTicket,
  cursor: LogCursor,
  locale: Locale,
  content = '',
): Promise<Answer> {
  requirePermission(w, 'tickets.read');
  const say = sayer(locale);
  const entries = await withTenant(ctx.deps.pool, w.orgId, (tx) =>
    listRuns(tx, {
      ticketId: ticket.id,
      limit: LOG_READ,
      ...(cursor.before === null ? {} : { before: cursor.before }),
    }),
  );
  const dry = button('gm:rulesdry:1', say('rules.dryButton'), 1);
  const { text, next } = logPage(entries, cursor, entries.length < LOG_READ, say);
  if (!text) {
    const none = cursor.page === 1 ? say('rules.logNone', { number: ticket.number }) : say('rules.logEnd');
    const nav =
      cursor.page === 1
        ? [dry]
        : [button(logId({ before: null, skip: 0, page: 1 }), say('rules.newest')), dry];
    return { content: content ? `${content}\n${none}` : none, embeds: [], components: [row(nav)] };
  }
  const nav: unknown[] = [];
  if (cursor.page > 1) nav.push(button(logId({ before: null, skip: 0, page: 1 }), say('rules.newest')));
  if (next) nav.push(button(logId(next), say('rules.older')));
  nav.push(dry);
  return {
    content,
    embeds: [
      {
        title: say('rules.logTitle', { number: ticket.number }).slice(0, 256),
        description: text,
        footer: { text: say(next ? 'rules.logFooterMore' : 'rules.logFooter', { page: cursor.page }) },
      },
    ],
    components: [row(nav)],
  };
}

/** Dry-run results split into pages of whole lines, at most DRY_PAGE_RULES rules each. */
export function dryPages(
  results: readonly TicketDryRun[],
  say: Say,
): { text: string; rules: TicketDryRun[] }[] {
  const pages: { text: string; rules: TicketDryRun[] }[] = [];
  let cur: { text: string; rules: TicketDryRun[] } = { text: '', rules: [] };
  for (const r of results) {
    const line = r.matched
      ? say('rules.dryMatch', {
          rule: NAME(r.ruleName),
          trigger: r.trigger,
          actions: escapeMarkdown(cut(r.actions.join('; '), REASON_CHARS)),
        })
      : say('rules.dryNoMatch', {
          rule: NAME(r.ruleName),
          trigger: r.trigger,
          reason: escapeMarkdown(cut(r.reason, REASON_CHARS)),
        });
    if (
      cur.rules.length &&
      (cur.rules.length >= DRY_PAGE_RULES || cur.text.length + 1 + line.length > PAGE_CHARS)
    ) {
      pages.push(cur);
      cur = { text: '', rules: [] };
    }
    cur.text = cur.text ? `${cur.text}\n${line}` : line;
    cur.rules.push(r);
  }
  if (cur.rules.length) pages.push(cur);
  return pages;
}

/** What every enabled rule would do on the ticket now; to `rules.manage`, a select to run one that matches. */
async function dryAnswer(
  ctx: Ctx,
  w: Who,
  ticket: DiscordTicket,
  asked: number,
  locale: Locale,
): Promise<Answer> {
  requirePermission(w, 'tickets.read');
  const say = sayer(locale);
  const results = await withTenant(ctx.deps.pool, w.orgId, (tx) => dryRunOnTicket(tx, ticket.id));
  const back = button(logId({ before: null, skip: 0, page: 1 }), say('rules.logButton'));
  if (!results.length) return { content: say('rules.dryNone'), embeds: [], components: [row([back])] };
  const pages = dryPages(results, say);
  const page = Math.min(Math.max(asked, 1), pages.length);
  const shown = pages[page - 1] as { text: string; rules: TicketDryRun[] };
  const matched = results.filter((r) => r.matched).length;
  const components: unknown[] = [];
  const runnable = shown.rules.filter((r) => r.matched);
  if (w.permissions.has('rules.manage') && runnable.length) {
    components.push(
      row([
        {
          type: 3,
          custom_id: 'gm:rulesrun',
          placeholder: say('rules.runPlaceholder').slice(0, 150),
          min_values: 1,
          max_values: 1,
          options: runnable.map((r) => ({
            label: cut(r.ruleName, 100),
            value: r.ruleId,
            description: cut(r.actions.join('; '), 100) || undefined,
          })),
        },
      ]),
    );
  }
  const nav: unknown[] = [];
  if (page > 1) nav.push(button(`gm:rulesdry:${page - 1}`, say('rules.prev')));
  if (page < pages.length) nav.push(button(`gm:rulesdry:${page + 1}`, say('rules.next')));
  nav.push(back);
  components.push(row(nav));
  return {
    content: '',
    embeds: [
      {
        title: say('rules.dryTitle', { number: ticket.number }).slice(0, 256),
        description: shown.text,
        footer: {
          text: say('rules.dryFooter', { matched, count: results.length, page, pages: pages.length }),
        },
      },
    ],
    components,
  };
}

/** `/ticket rules`: the newest page of this ticket's run log. */
export async function rulesAnswer(i: ChatInputCommandInteraction, ctx: Ctx): Promise<Answer> {
  const { who: w, ticket } = await who(i, ctx);
  return logAnswer(ctx, w, ticket, { before: null, skip: 0, page: 1 }, localeOf(i));
}

const int = (s: string | undefined) => (s !== undefined && /^\d{1,15}$/.test(s) ? Number(s) : null);

/**
 * Paging through the log and the dry run updates the message in place: the first act is the
 * deferred update (no I/O before it), then the page is drawn.
 */
export const rulesLogButton: ComponentHandler<ButtonInteraction> = {
  action: 'ruleslog',
  ack: 'self',
  async execute(i, ctx, [before, skip, page]) {
    await i.deferUpdate();
    const cursor = {
      before: before === '-' ? null : int(before),
      skip: int(skip),
      page: int(page),
    };
    if ((before !== '-' && cursor.before === null) || cursor.skip === null || !cursor.page)
      throw refuse('bad_request', 'error.staleButton');
    const { who: w, ticket } = await who(i, ctx);
    await respond(i, await logAnswer(ctx, w, ticket, cursor as LogCursor, localeOf(i)));
  },
};

export const rulesDryButton: ComponentHandler<ButtonInteraction> = {
  action: 'rulesdry',
  ack: 'self',
  async execute(i, ctx, [page]) {
    await i.deferUpdate();
    const asked = int(page);
    if (!asked) throw refuse('bad_request', 'error.staleButton');
    const { who: w, ticket } = await who(i, ctx);
    await respond(i, await dryAnswer(ctx, w, ticket, asked, localeOf(i)));
  },
};

/**
 * Running the chosen rule: a new ephemeral answer (what the run did, then the log with it on
 * top), so a refusal is a message of its own rather than an edit of the dry run.
 */
export const rulesRunSelect: ComponentHandler<StringSelectMenuInteraction> = {
  action: 'rulesrun',
  ack: 'defer',
  async execute(i, ctx) {
    const { who: w, ticket } = await who(i, ctx);
    // The answer shows the log too: someone who may edit rules but not read tickets is stopped
    // before the run, not after it.
    requirePermission(w, 'tickets.read');
    const actor = requirePermission(w, 'rules.manage');
    const ruleId = i.values[0] ?? '';
    const locale = localeOf(i);
    const say = sayer(locale);
    // Who is online, as the rules worker reads it, so assign_in_team picks the same member.
    const availability = ctx.deps.redis
      ? { online: await onlineMembers(ctx.deps.redis, w.orgId) }
      : undefined;
    const run = await withTenant(ctx.deps.pool, w.orgId, (tx) =>
      runRuleNow(tx, ruleId, { ticketId: ticket.id }, actor, w.permissions, availability),
    ).catch((err: unknown) => {
      // The rule is read inside the caller's org: another org's rule, a deleted one, or a value
      // that is no rule id at all are all "not found" here.
      if (isAppError(err) && (err.code === 'not_found' || err.code === 'validation_failed'))
        throw refuse('not_found', 'rules.ruleNotFound');
      if (isAppError(err) && err.code === 'invalid_transition')
        throw refuse('invalid_transition', 'rules.ruleDisabled');
      throw err;
    });
    const rule = NAME(run.ruleName);
    const reason = escapeMarkdown(cut(run.reason.replace(/^run by hand: /, ''), REASON_CHARS));
    const head =
      run.outcome === 'applied'
        ? say('rules.ran', {
            rule,
            number: ticket.number,
            actions: escapeMarkdown(cut(run.actions.join('; '), REASON_CHARS)),
          })
        : run.outcome === 'failed'
          ? say('rules.ranFailed', { rule, number: ticket.number, reason })
          : say('rules.ranNoMatch', { rule, number: ticket.number, reason });
    await respond(i, await logAnswer(ctx, w, ticket, { before: null, skip: 0, page: 1 }, locale, head));
  },
};
