import { type Message, MessageType, Routes } from 'discord.js';
import { dmTicketsForUser, openDmTicket as openTicketOf, recordDm } from '../../db/discord-dm.js';
import { discordPlayer } from '../../db/discord-standing.js';
import { withTenant } from '../../db/tenant.js';
import { isAppError } from '../../lib/errors.js';
import type { Locale } from '../../lib/i18n/locales.js';
import { t as say } from '../../lib/i18n/messages.js';
import { counter } from '../../lib/metrics.js';
import type { DiscordPerson } from '../auth.js';
import type { BotDeps } from '../context.js';
import {
  categoryChoice,
  dmBody,
  dmCategories,
  dmCtx,
  dmGuilds,
  dmLocale,
  guildChoice,
  openDmTicket,
  personOf,
} from '../dm-open.js';
import {
  addPending,
  clearPending,
  countDm,
  type PendingDm,
  rememberedLocale,
  rememberLocale,
} from '../dm-store.js';
import { userMessage } from '../handler.js';

const dms = counter('gamemod_bot_dms_total', 'Direct messages to the bot (modmail)', ['outcome']);

/** The mark a recorded DM gets, so the player sees it reached the ticket. */
export const RECORDED = '✅';

/**
 * A direct message to the bot (modmail). With an open DM ticket, it becomes a message on that
 * ticket (once per Discord message id) and gets a ✅; the workers post it into the staff thread.
 * Otherwise it is kept while the player chooses a server and category (or opens the ticket at
 * once when there is no choice to make). The bot only answers the DM in front of it here.
 */
export async function onDirectMessage(deps: BotDeps, m: Message): Promise<void> {
  if (m.guildId || m.author.bot || m.system || m.author.id === deps.client.user?.id) return;
  if (m.type !== MessageType.Default && m.type !== MessageType.Reply) return;
  const dm: PendingDm = {
    id: m.id,
    body: m.content.slice(0, 16_000),
    attachments: [...m.attachments.values()].slice(0, 10).map((a) => ({
      filename: a.name.slice(0, 255),
      contentType: a.contentType ?? 'application/octet-stream',
      sizeBytes: a.size,
      url: a.url,
    })),
  };
  if (!dmBody(dm)) return void dms.inc({ outcome: 'empty' });
  if (dm.body.includes('\u0000')) {
    await answer(m, say(await localeFor(deps, m.author.id), 'dm.nul'));
    return;
  }
  const rate = await countDm(deps, m.author.id);
  if (rate.over) {
    dms.inc({ outcome: 'rate_limited' });
    if (rate.warn) await answer(m, say(await localeFor(deps, m.author.id), 'dm.tooFast'));
    return;
  }
  const person = personOf(m.author);
  try {
    if (await toOpenTicket(deps, person, dm)) {
      dms.inc({ outcome: 'recorded' });
      await react(deps, m);
      return;
    }
    await startTicket(deps, m, person, dm);
  } catch (err) {
    const ctx = dmCtx(deps, person.id);
    if (!isAppError(err) || err.code === 'internal' || err.code === 'unavailable')
      ctx.log.error({ err }, 'direct message not handled');
    dms.inc({ outcome: 'error' });
    const locale = await localeFor(deps, person.id).catch(() => 'en-US' as const);
    await answer(m, userMessage(err, ctx.requestId, locale));
  }
}

/** Records the DM on the sender's open DM ticket, if they have one (only their own can match). */
async function toOpenTicket(deps: BotDeps, person: DiscordPerson, dm: PendingDm): Promise<boolean> {
  for (const c of await dmTicketsForUser(deps.pool, person.id)) {
    const done = await withTenant(deps.pool, c.orgId, async (tx) => {
      const ticket = await openTicketOf(tx, c.ticketId, person.id);
      if (!ticket) return false;
      const player = await discordPlayer(tx, person);
      await recordDm(
        tx,
        { ticketId: ticket.id, messageId: dm.id, body: dmBody(dm), attachments: dm.attachments },
        player,
      );
      return true;
    });
    if (done) return true;
  }
  return false;
}

/** No open DM ticket: keep the DM and ask where it goes, or open at once when there is one answer. */
async function startTicket(deps: BotDeps, m: Message, person: DiscordPerson, dm: PendingDm): Promise<void> {
  const pending = await addPending(deps, person.id, dm);
  if (!pending) {
    dms.inc({ outcome: 'pending_full' });
    await answer(m, say(await localeFor(deps, person.id), 'dm.chooseFirst'));
    return;
  }
  // Later DMs while the player is choosing are kept with the first, and the choice is not asked again.
  if (pending.length > 1) {
    dms.inc({ outcome: 'pending' });
    await react(deps, m, '📝');
    if (pending.length === 2) await answer(m, say(await localeFor(deps, person.id), 'dm.keeping'));
    return;
  }
  const guilds = await dmGuilds(deps, person.id);
  const only = guilds.length === 1 ? guilds[0] : undefined;
  // Worked out once for the conversation, from the servers it can go to; what follows keeps it.
  const locale = await dmLocale(deps, person.id, guilds);
  await rememberLocale(deps, person.id, locale);
  if (!guilds.length) {
    dms.inc({ outcome: 'no_server' });
    await answer(m, say(locale, 'dm.noSharedServer'));
    return;
  }
  if (!only) {
    dms.inc({ outcome: 'asked' });
    await answer(m, guildChoice(guilds, locale));
    return;
  }
  const categories = await dmCategories(deps, only.orgId);
  if (categories.length > 1) {
    dms.inc({ outcome: 'asked' });
    await answer(m, categoryChoice(only, categories, locale));
    return;
  }
  // Nothing to choose, so nothing to keep: a refusal (limits, no support channel) is told and
  // the next DM starts afresh.
  const text = await openDmTicket(
    dmCtx(deps, person.id),
    person,
    only,
    categories[0]?.id ?? null,
    pending,
    locale,
  ).catch(async (err: unknown) => {
    await clearPending(deps, person.id);
    throw err;
  });
  dms.inc({ outcome: 'opened' });
  await answer(m, text);
}

/**
 * The language to answer a DM in: the conversation's, once its first DM worked it out, else the
 * one last seen for the player (a DM event carries no locale), else English.
 */
async function localeFor(deps: BotDeps, userId: string): Promise<Locale> {
  return (await rememberedLocale(deps, userId)) ?? (await dmLocale(deps, userId));
}

type Reply = string | { content: string; components?: unknown[] };

async function answer(m: Message, reply: Reply): Promise<void> {
  const body = typeof reply === 'string' ? { content: reply } : reply;
  await m.client.rest.post(Routes.channelMessages(m.channelId), {
    body: { ...body, allowed_mentions: { parse: [] } },
  });
}

async function react(deps: BotDeps, m: Message, emoji = RECORDED): Promise<void> {
  await deps.client.rest
    .put(Routes.channelMessageOwnReaction(m.channelId, m.id, encodeURIComponent(emoji)))
    .catch((err: unknown) => deps.logger.warn({ err }, 'could not mark a direct message as recorded'));
}
