import { randomUUID } from 'node:crypto';
import { DiscordAPIError } from 'discord.js';
import { getCategory } from '../db/categories.js';
import type { Actor } from '../db/changes.js';
import { discordPlayer } from '../db/discord-standing.js';
import {
  type DiscordTicket,
  discordTicket,
  setDiscordSide,
  teamDiscordIds,
  ticketByInteraction,
  ticketForChannel,
} from '../db/discord-sync.js';
import { planOpening, recordOpeningStep } from '../db/discord-ticket-openings.js';
import { releaseTicketSide } from '../db/discord-ticket-sides.js';
import { staffDiscordRoles } from '../db/guild-roles.js';
import type { TicketMode } from '../db/guilds.js';
import { type Tx, withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { finishOpening, type OpeningState } from '../lib/discord/opening.js';
import { addThreadMember } from '../lib/discord/rest.js';
import { pickLocale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import { type DiscordPerson, guildOf, orgOf } from './auth.js';
import {
  createForumPost,
  createPrivateThread,
  createTicketChannel,
  deleteChannel,
  ensureWebhook,
  forumTagsFor,
  type MessageBody,
} from './discord-api.js';
import type { Answer } from './forms.js';
import type { Ctx } from './handler.js';
import { acquireLock, checkPlayerLimits } from './open-guards.js';
import { refuse } from './say.js';
import { channelName, summaryMessage } from './ticket-text.js';

export interface OpenRequest {
  guildId: string;
  /** Where the interaction happened: the thread parent when no support channel is configured. */
  channelId: string | null;
  interactionId: string;
  requester: DiscordPerson;
  /** The player's Discord locale (their client's, else the server's): the ticket's language. */
  locale?: string | null;
  /** Staff opening on a player's behalf (user context menu): no limits, audited as them. */
  openedBy?: (Actor & { type: 'user' }) | null;
  openedByDiscordId?: string;
  categoryId: string | null;
  subject: string;
  answers: Answer[];
  quote?: { url: string; authorId: string; content: string };
  /**
   * Opened by a direct message (modmail): always a private thread the player is not added to,
   * the DM's text as the first message (external id the DM's), `inTx` run in the ticket's own
   * transaction to record the rest of the DM.
   */
  viaDm?: { messageId: string; body: string; inTx: (tx: Tx, ticketId: string) => Promise<void> };
}

/**
 * Opens a ticket from Discord: checks the player's limits, makes the private thread, forum post
 * or channel, then records the ticket with the interaction id as its idempotency key, and only
 * then posts the summary and brings people in. If recording fails, the Discord side just made is
 * deleted again, so nothing is left half-made; if the same interaction already made a ticket,
 * that ticket is returned.
 */
export async function openFromDiscord(ctx: Ctx, req: OpenRequest): Promise<OpenResult> {
  // One open at a time per player and guild (across shards and machines), so two quick clicks
  // cannot both pass the open-ticket limit while the first is still creating its thread.
  const release = await acquireLock(ctx.deps, `opening:${req.guildId}:${req.requester.id}`, 30_000);
  if (!release) throw refuse('rate_limited', 'open.inProgress');
  try {
    return await openUnlocked(ctx, req);
  } finally {
    await release().catch((err) => ctx.log.warn({ err }, 'could not release the ticket-open lock'));
  }
}

/**
 * openFromDiscord without the per-player lock, for a caller that already holds it. Two of these
 * racing on one interaction still make one ticket: the database's external-id key decides, and
 * the loser deletes the channel it made.
 */
export function openWithoutLock(ctx: Ctx, req: OpenRequest): Promise<OpenResult> {
  return openUnlocked(ctx, req);
}

/** `incomplete`: the ticket is recorded and visible to the player, the rest is being repaired. */
export interface OpenResult {
  ticket: DiscordTicket;
  created: boolean;
  incomplete?: boolean;
}

async function openUnlocked(ctx: Ctx, req: OpenRequest): Promise<OpenResult> {
  const { deps } = ctx;
  const client = deps.client;
  const orgId = await orgOf(deps, req.guildId);
  const plan = await withTenant(deps.pool, orgId, async (tx) => {
    const existing = await ticketByInteraction(tx, req.interactionId);
    if (existing) return { existing } as const;
    const guild = await guildOf(tx, req.guildId);
    const category = req.categoryId ? await getCategory(tx, req.categoryId) : null;
    if (category?.archivedAt) throw refuse('not_found', 'open.categoryArchived');
    const player = await discordPlayer(tx, req.requester);
    if (!req.openedBy) await checkPlayerLimits(tx, guild, player.id, false);
    const cat = category ? guild.settings.categories?.[category.id] : undefined;
    const configured: TicketMode = cat?.mode ?? category?.ticketMode ?? 'thread';
    // A DM conversation is private: never a public forum post, nor a channel the player sees.
    const mode: TicketMode = req.viaDm ? 'thread' : configured;
    const target =
      (configured === mode ? cat?.channelId : undefined) ??
      (mode === 'thread' ? guild.settings.supportChannelId : undefined);
    const parent = target ?? (mode === 'thread' ? req.channelId : null);
    if (!parent) {
      throw refuse(
        'bad_request',
        mode === 'forum'
          ? 'open.noForum'
          : mode === 'channel'
            ? 'open.noChannelCategory'
            : 'open.noSupportChannel',
      );
    }
    const staffRoles = await staffDiscordRoles(tx, req.guildId);
    // A category with a team brings in that team's members rather than every staff role.
    const teamStaff = category?.teamId ? await teamDiscordIds(tx, category.teamId) : [];
    return {
      guild,
      category,
      player,
      mode,
      parent,
      overflow: cat?.overflowCategoryIds ?? [],
      forumTagId: cat?.forumTagId,
      staffRoles,
      teamStaff,
    } as const;
  });
  if ('existing' in plan && plan.existing) return { ticket: plan.existing, created: false };
  const { category, player, mode, parent, overflow, forumTagId, staffRoles, teamStaff } = plan as Exclude<
    typeof plan,
    { existing: unknown }
  >;

  const reason = `GameMod: ticket for ${req.requester.username}`;
  const name = channelName(category, req.requester, mode);
  // Forum posts are public threads: a mention in the post's first message is what notifies
  // (mentions added later by an edit notify nobody), so the player and staff are named here.
  const pinged = teamStaff.length
    ? { users: [...teamStaff], roles: [] }
    : { users: [], roles: [...staffRoles] };
  // The server's language, as the summary that follows. Only a forum post is made with a first
  // message (a thread or channel gets the summary as its first); the summary is edited into it,
  // but the notification its mentions send keeps this line.
  const serverLocale = pickLocale(client.guilds.cache.get(req.guildId)?.preferredLocale);
  const forumStarter: MessageBody = {
    content: [
      say(serverLocale, 'opening.forumPost', { user: `<@${req.requester.id}>` }),
      ...pinged.users.map((u) => `<@${u}>`),
      ...pinged.roles.map((r) => `<@&${r}>`),
    ]
      .join(' ')
      .slice(0, 2000),
    allowed_mentions: { users: [req.requester.id, ...pinged.users], roles: pinged.roles },
  };
  const channel = await (mode === 'forum'
    ? createForumPost(
        client,
        parent,
        name,
        forumStarter,
        reason,
        forumTagsFor(client, parent, forumTagId, category?.name),
      )
    : mode === 'channel'
      ? createTicketChannel(
          client,
          req.guildId,
          name,
          [parent, ...overflow],
          req.requester.id,
          teamStaff.length ? [] : staffRoles,
          reason,
          teamStaff,
        )
      : createPrivateThread(client, parent, name, reason)
  ).catch((err: unknown) => {
    if (
      err instanceof DiscordAPIError &&
      (err.code === 10003 || (err.code === 50035 && /parent_id/.test(JSON.stringify(err.rawError))))
    )
      throw refuse('bad_request', 'open.parentGone', {}, err);
    throw err;
  });

  const claim = randomUUID();
  let opening: OpeningState | undefined;
  let result: { ticket: DiscordTicket; created: boolean };
  try {
    // Before the ticket is recorded: once it exists, the player must be able to see it, so a
    // failure here still undoes everything (adding a member twice is harmless on a retry).
    if (mode !== 'channel') {
      if (!req.viaDm) await addThreadMember(client.rest, channel.id, req.requester.id, reason);
      if (req.openedByDiscordId)
        await addThreadMember(client.rest, channel.id, req.openedByDiscordId, reason);
    }
    result = await withTenant(deps.pool, orgId, async (tx) => {
      const again = await ticketByInteraction(tx, req.interactionId);
      if (again) return { ticket: again, created: false };
      // Again, now holding the player's row: the check above ran before the (slow) Discord call.
      if (!req.openedBy) await checkPlayerLimits(tx, plan.guild, player.id, true);
      // The first message is stored data staff read everywhere: GameMod's own labels in the
      // server's language, as the summary names them (a category's own questions as written).
      const label = (a: Answer) => (a.labelKey ? say(serverLocale, a.labelKey) : a.label);
      const body = req.viaDm?.body ?? req.answers.map((a) => `**${label(a)}**\n${a.value}`).join('\n\n');
      const opened = await openTicket(
        tx,
        {
          subject: req.subject,
          body: [
            body,
            req.quote
              ? `${say(serverLocale, 'opening.reportedMessage', { url: req.quote.url })}\n> ${req.quote.content}`
              : '',
          ]
            .filter(Boolean)
            .join('\n\n')
            .slice(0, 16_000),
          origin: 'discord',
          externalId: req.interactionId,
          requesterId: player.id,
          categoryId: category?.id,
          teamId: category?.teamId ?? undefined,
          customFields: Object.fromEntries(req.answers.map((a) => [a.key, a.value.slice(0, 4000)])),
          discordGuildId: req.guildId,
          discordChannelId: channel.id,
          ...(req.locale ? { locale: req.locale } : {}),
          ...(req.viaDm ? { messageExternalId: req.viaDm.messageId } : {}),
        },
        req.openedBy ?? player,
      );
      if (!opened.created) return { ticket: await discordTicket(tx, opened.ticket.id), created: false };
      await req.viaDm?.inTx(tx, opened.ticket.id);
      await setDiscordSide(tx, { ticketId: opened.ticket.id, mode });
      const ticket = await discordTicket(tx, opened.ticket.id);
      // What is left on Discord once the ticket exists, recorded with it and claimed by this
      // process: finished just below, or by the workers' discord.ticket_sync if that fails.
      opening = {
        ticketId: ticket.id,
        channelId: channel.id,
        mode,
        summary: summaryMessage(
          ticket,
          req,
          category,
          teamStaff.length ? { userIds: teamStaff } : { roleIds: staffRoles },
          // The server's language, as the workers' redraws of it will be (workers/guild-locale.ts).
          serverLocale,
        ),
        webhookChannelId: mode === 'channel' ? channel.id : parent,
        teamDiscordIds: teamStaff,
        reason,
        summaryMessageId: null,
        teamAdded: false,
        webhookDone: false,
      };
      await planOpening(tx, { ...opening, teamDiscordIds: [...teamStaff] }, claim, OPENING_CLAIM_SECONDS);
      return { ticket, created: true };
    });
  } catch (err) {
    await deleteChannel(client, channel.id, 'GameMod: the ticket could not be recorded').catch((e) =>
      ctx.log.warn({ err: e }, 'could not delete the channel of a ticket that failed'),
    );
    throw err;
  }
  if (!result.created || !opening) {
    // Another delivery of the same interaction won the race: keep its channel, drop ours.
    await deleteChannel(client, channel.id, 'GameMod: duplicate ticket request').catch(() => {});
    return result;
  }

  // The ticket exists from here on: Discord failing now must not tell the player it failed.
  // What is left (summary, team, webhook) is finished now; if Discord fails, the claim is given
  // up and the workers' discord.ticket_sync job (queued by the ticket's outbox event) finishes it.
  const ticket = result.ticket;
  try {
    const summaryId = await finishOpeningNow(ctx, orgId, claim, opening);
    return { ticket: { ...ticket, discordSummaryMessageId: summaryId }, created: true };
  } catch (err) {
    ctx.log.warn(
      { err, ticketId: ticket.id },
      'the ticket is recorded but its Discord side is incomplete; the workers finish it',
    );
    return { ticket, created: true, incomplete: true };
  } finally {
    await withTenant(deps.pool, orgId, (tx) => releaseTicketSide(tx, ticket.id, claim)).catch((err) =>
      ctx.log.warn({ err }, 'could not release the claim on the ticket’s Discord side'),
    );
  }
}

/**
 * How long the bot holds a new ticket's Discord side while it finishes it: longer than the
 * summary, team and webhook calls take; if the bot dies holding it, the workers wait this long.
 */
const OPENING_CLAIM_SECONDS = 60;

/** The steps after a ticket is recorded (lib/discord/opening.ts), under this process's claim. */
function finishOpeningNow(ctx: Ctx, orgId: string, claim: string, opening: OpeningState): Promise<string> {
  const { deps } = ctx;
  const ticketId = opening.ticketId;
  return finishOpening(deps.client.rest, opening, {
    record: async (step) => {
      const ok = await withTenant(deps.pool, orgId, (tx) =>
        recordOpeningStep(tx, ticketId, claim, {
          summaryMessageId: step.summaryMessageId,
          teamAdded: step.teamAdded,
          webhookDone: step.webhookDone,
          // The token is a credential: stored sealed; the workers open it to post.
          ...(step.webhook
            ? { webhookId: step.webhook.id, webhookToken: deps.box.seal(step.webhook.token) }
            : {}),
        }),
      );
      if (!ok) throw new Error('lost the claim on the ticket’s Discord side');
    },
    webhook: (id) => ensureWebhook(deps, id),
    warn: (err, what) => ctx.log.warn({ err, ticketId }, what),
  });
}

/** The ticket of the thread, post or channel an interaction came from. */
export async function ticketHere(ctx: Ctx, guildId: string | null, channelId: string | null) {
  const orgId = await orgOf(ctx.deps, guildId);
  if (!channelId) throw refuse('bad_request', 'refuse.runInTicket');
  const ticket = await withTenant(ctx.deps.pool, orgId, (tx) => ticketForChannel(tx, channelId));
  if (!ticket) throw refuse('not_found', 'refuse.notTicket');
  return { orgId, ticket };
}
