import { type Message, MessageType, Routes } from 'discord.js';
import type { Conversation } from '../../db/dm-routing.js';
import { isAppError } from '../../lib/errors.js';
import type { Locale } from '../../lib/i18n/locales.js';
import { t as say } from '../../lib/i18n/messages.js';
import { counter } from '../../lib/metrics.js';
import type { DiscordPerson } from '../auth.js';
import type { BotDeps } from '../context.js';
import {
  categoryChoice,
  DmSearchBusy,
  dmBody,
  dmCategories,
  dmCtx,
  dmGuilds,
  dmLocale,
  guildChoice,
  openDmTicket,
  personOf,
} from '../dm-open.js';
import { recordOn, routeDm, ticketChoice } from '../dm-route.js';
import {
  addPending,
  addUnrouted,
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
 * A direct message to the bot (modmail). With an open conversation (a DM ticket, or a ticket
 * whose replies reach the DM), it becomes a message on that ticket (once per Discord message id)
 * and gets a ✅; the workers post a DM ticket's into the staff thread. Which ticket, when the
 * player has open ones with several organizations: the one whose relayed message it replies to,
 * else the player's choice (`dm-route.ts`). Otherwise it is kept while the player chooses a
 * server and category (or opens the ticket at once when there is no choice to make). The bot
 * only answers the DM in front of it here.
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
    const route = await routeDm(deps, person.id, m.reference?.messageId ?? null);
    if (route.kind === 'ask') return await askTicket(deps, m, person, dm, route.choices);
    if (route.kind === 'ticket' && (await recordOn(deps, person, route.to, [dm], dmBody))) {
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

/**
 * Open tickets with more than one organization and a DM that is not a reply to one of them: it
 * is kept (with any that follow) until the player chooses its ticket, and asked once.
 */
async function askTicket(
  deps: BotDeps,
  m: Message,
  person: DiscordPerson,
  dm: PendingDm,
  choices: Conversation[],
): Promise<void> {
  const kept = await addUnrouted(deps, person.id, dm);
  const locale = await localeFor(deps, person.id);
  if (!kept) {
    dms.inc({ outcome: 'unrouted_full' });
    await answer(m, say(locale, 'dm.chooseTicketFirst'));
    return;
  }
  dms.inc({ outcome: 'asked_ticket' });
  if (kept.length > 1) return void (await react(deps, m, '📝'));
  await answer(m, ticketChoice(choices, locale));
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
  const guilds = await dmGuilds(deps, person.id).catch(async (err: unknown) => {
    // Nothing was asked, so nothing is kept: a kept DM would make the next one wait for a choice
    // never offered. A search that would wait too long behind other players' says so at once.
    await clearPending(deps, person.id);
    if (!(err instanceof DmSearchBusy)) throw err;
    return null;
  });
  if (!guilds) {
    dms.inc({ outcome: 'busy' });
    await answer(m, say(await localeFor(deps, person.id), 'dm.busy'));
    return;
  }
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

export async function react(deps: BotDeps, m: Message, emoji = RECORDED): Promise<void> {
  await deps.client.rest
    .put(Routes.channelMessageOwnReaction(m.channelId, m.id, encodeURIComponent(emoji)))
    .catch((err: unknown) => deps.logger.warn({ err }, 'could not mark a direct message as recorded'));
}
