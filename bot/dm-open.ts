import { randomUUID } from 'node:crypto';
import { ComponentType, DiscordAPIError, Routes, type User } from 'discord.js';
import { type Category, listCategories } from '../db/categories.js';
import { dmTicketsForUser, linkedGuilds, playerLocale, recordDm, recordDmOpening } from '../db/discord-dm.js';
import { discordPlayer } from '../db/discord-standing.js';
import { knownOrgs } from '../db/dm-routing.js';
import { endMembershipOfLeaver } from '../db/guild-roles.js';
import { withTenant } from '../db/tenant.js';
import { userIdForDiscord } from '../db/users.js';
import { AppError } from '../lib/errors.js';
import { type Locale, pickLocale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import type { DiscordPerson } from './auth.js';
import type { BotDeps } from './context.js';
import { botServers } from './dm-servers.js';
import { clearPending, type PendingDm } from './dm-store.js';
import type { Ctx } from './handler.js';
import { refuse } from './say.js';
import { openFromDiscord } from './tickets.js';

/**
 * A player's first DM: which server and category it is for (asked with selects in the DM when
 * there is a choice), then the ticket, opened with everything they wrote meanwhile.
 */

export interface DmGuild {
  guildId: string;
  orgId: string;
  name: string;
}

/** A select holds at most 25 options: past that many shared servers the search stops. */
const MAX_CHOICES = 25;
/** Member look-ups asked of Discord at once while searching. */
const PAGE = 10;
/**
 * Member look-ups per second across all of this process's searches: half of Discord's global
 * 50 requests/s, so a search through many servers leaves room for everything else the bot posts.
 */
const LOOKUPS_PER_SECOND = 25;
const UNKNOWN_MEMBER = 10007;
/** How long a first DM's search may wait for a look-up slot when BotDeps names no other limit. */
export const DEFAULT_DM_SEARCH_MAX_WAIT_MS = 10_000;

/**
 * A first DM's search would wait longer than allowed for its turn: many players wrote at once.
 * The player is asked to write again in a minute rather than left waiting with no answer.
 */
export class DmSearchBusy extends AppError {
  constructor(waitMs: number) {
    super('rate_limited', `the server search would wait ${Math.round(waitMs)} ms for its turn`, {
      details: { waitMs },
    });
  }
}

let nextLookup = 0;
/**
 * Waits for this process's next member look-up slot (a bucket of one second's worth). A slot
 * further off than `maxWaitMs` is not taken: the caller gives up (DmSearchBusy) instead. Every
 * look-up a DM makes is bounded so: a player is told to try again rather than left waiting.
 */
export async function lookupSlot(maxWaitMs: number): Promise<void> {
  const now = Date.now();
  const at = Math.max(now - 1000, nextLookup);
  if (at - now > maxWaitMs) throw new DmSearchBusy(at - now);
  nextLookup = at + 1000 / LOOKUPS_PER_SECOND;
  if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
}

/** The look-up slot of one DM's work, bounded by `deps.dmSearchMaxWaitMs`. */
function boundedSlot(deps: BotDeps): () => Promise<void> {
  const maxWaitMs = deps.dmSearchMaxWaitMs ?? DEFAULT_DM_SEARCH_MAX_WAIT_MS;
  return () => lookupSlot(maxWaitMs);
}

async function isMember(
  deps: BotDeps,
  guildId: string,
  userId: string,
  slot: () => Promise<void>,
): Promise<boolean> {
  await slot();
  try {
    await deps.client.rest.get(Routes.guildMember(guildId, userId));
    return true;
  } catch (err) {
    if (err instanceof DiscordAPIError && err.code === UNKNOWN_MEMBER) return false;
    throw err;
  }
}

/**
 * The linked servers this bot is in (on any shard: `dm-servers.ts`) that the user is a member
 * of, at most 25 (what a select can offer). The bot keeps no member list (no GuildMembers
 * intent), so membership is asked of Discord per server: first the servers of organizations that
 * already know the user (a player profile, a membership), then the others, a page at a time and
 * paced under Discord's limits. When many players write at once, a look-up that would wait
 * longer than `deps.dmSearchMaxWaitMs` for its turn ends the search with DmSearchBusy.
 */
export async function dmGuilds(deps: BotDeps, userId: string): Promise<DmGuild[]> {
  const slot = boundedSlot(deps);
  const servers = await botServers(deps, slot);
  const [linked, known] = await Promise.all([
    linkedGuilds(deps.pool, [...servers.keys()]),
    knownOrgs(deps.pool, userId),
  ]);
  const pairs = [...linked].sort(([, a], [, b]) => Number(known.has(b)) - Number(known.has(a)));
  const found: DmGuild[] = [];
  const gone: Array<[string, string]> = [];
  for (let i = 0; i < pairs.length && found.length < MAX_CHOICES; i += PAGE) {
    const page = pairs.slice(i, i + PAGE);
    const members = await Promise.all(page.map(([guildId]) => isMember(deps, guildId, userId, slot)));
    page.forEach(([guildId, orgId], n) => {
      if (members[n]) found.push({ guildId, orgId, name: servers.get(guildId) ?? 'Server' });
      else if (known.has(orgId)) gone.push([guildId, orgId]);
    });
  }
  await endMembershipsOfLeaver(deps, userId, gone);
  return found.slice(0, MAX_CHOICES).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One server chosen in a DM's select, if it is still linked, held by this bot, and the user's.
 * Its look-up waits its turn as a search's does, no longer: behind a burst of other players'
 * searches and choices the pick ends with DmSearchBusy (the select handlers ask to choose again).
 */
export async function dmGuild(deps: BotDeps, userId: string, guildId: string): Promise<DmGuild | undefined> {
  const slot = boundedSlot(deps);
  const name = (await botServers(deps, slot)).get(guildId);
  const orgId = name !== undefined ? (await linkedGuilds(deps.pool, [guildId])).get(guildId) : undefined;
  if (name === undefined || !orgId) return undefined;
  if (!(await isMember(deps, guildId, userId, slot))) {
    await endMembershipsOfLeaver(deps, userId, [[guildId, orgId]]);
    return undefined;
  }
  return { guildId, orgId, name };
}

/**
 * Discord answered Unknown Member for this user in these linked servers: they left (or were
 * kicked or banned), which the bot is never told otherwise (no GuildMembers intent). A staff
 * membership one of those servers' mapped roles made ends (db/guild-roles.ts: audited, their
 * credentials revoked). Asked only of organizations that know the user; a failure here is
 * logged and never holds up the player's DM.
 */
async function endMembershipsOfLeaver(
  deps: BotDeps,
  discordUserId: string,
  gone: ReadonlyArray<readonly [guildId: string, orgId: string]>,
): Promise<void> {
  if (!gone.length) return;
  try {
    const userId = await userIdForDiscord(deps.pool, discordUserId);
    if (!userId) return;
    for (const [guildId, orgId] of gone)
      await withTenant(deps.pool, orgId, (tx) => endMembershipOfLeaver(tx, guildId, userId));
  } catch (err) {
    deps.logger.warn({ err }, 'could not end the memberships of a user gone from a server');
  }
}

export async function dmCategories(deps: BotDeps, orgId: string): Promise<Category[]> {
  const all = await withTenant(deps.pool, orgId, (tx) => listCategories(tx));
  return all.filter((c) => !c.archivedAt).slice(0, 25);
}

/**
 * The language to write to a player in by DM, where no interaction tells it: the one last seen
 * for them in one of these servers' organizations or one they have DM tickets with (their
 * client's when they last opened a ticket), else the first of these servers' own, else English.
 */
export async function dmLocale(
  deps: BotDeps,
  userId: string,
  guilds: readonly DmGuild[] = [],
): Promise<Locale> {
  const orgs = new Set([
    ...guilds.map((g) => g.orgId),
    ...(await dmTicketsForUser(deps.pool, userId)).map((c) => c.orgId),
  ]);
  for (const orgId of orgs) {
    const seen = await withTenant(deps.pool, orgId, (tx) => playerLocale(tx, userId));
    if (seen) return pickLocale(seen);
  }
  return pickLocale(...guilds.map((g) => deps.client.guilds.cache.get(g.guildId)?.preferredLocale));
}

/** The select asking which server a DM is for (`gm:dmguild`). */
export function guildChoice(guilds: readonly DmGuild[], locale: Locale) {
  return {
    content: say(locale, 'dm.whichServer'),
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.StringSelect,
            custom_id: 'gm:dmguild',
            placeholder: say(locale, 'dm.chooseServer'),
            options: guilds.map((g) => ({ label: g.name.slice(0, 100), value: g.guildId })),
          },
        ],
      },
    ],
  };
}

/** The select asking which category (`gm:dmcat:<guild>`). */
export function categoryChoice(guild: DmGuild, categories: readonly Category[], locale: Locale) {
  return {
    content: say(locale, 'dm.whichCategory', { server: guild.name }).slice(0, 2000),
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.StringSelect,
            custom_id: `gm:dmcat:${guild.guildId}`,
            placeholder: say(locale, 'dm.chooseCategory'),
            options: categories.map((c) => ({ label: c.name.slice(0, 100), value: c.id })),
          },
        ],
      },
    ],
  };
}

/** A DM's text as a ticket message; files alone are named, so no message is empty. */
export function dmBody(m: Pick<PendingDm, 'body' | 'attachments'>): string {
  return m.body.trim() || m.attachments.map((a) => a.filename).join(', ');
}

function subjectOf(first: PendingDm): string {
  const line = first.body.trim().split('\n')[0]?.trim() ?? '';
  return (line.length > 100 ? `${line.slice(0, 99)}…` : line) || 'Direct message';
}

/**
 * Opens the ticket for a player's pending DMs in the chosen server and category: the first DM
 * is the ticket's first message, the others follow as messages, all in the ticket's transaction.
 * The pending DMs are forgotten once it is open. Returns the answer for the player.
 */
export async function openDmTicket(
  ctx: Ctx,
  person: DiscordPerson,
  guild: DmGuild,
  categoryId: string | null,
  pending: readonly PendingDm[],
  /** The player's: the ticket's language, and the answer's. */
  locale: Locale,
): Promise<string> {
  const [first, ...rest] = pending;
  if (!first) throw refuse('not_found', 'dm.expired');
  const result = await openFromDiscord(ctx, {
    guildId: guild.guildId,
    channelId: null,
    interactionId: first.id,
    requester: { ...person, roleIds: [] },
    locale,
    categoryId,
    subject: subjectOf(first),
    answers: [],
    viaDm: {
      messageId: first.id,
      body: dmBody(first),
      inTx: async (tx, ticketId) => {
        await recordDmOpening(tx, {
          ticketId,
          discordUserId: person.id,
          messageId: first.id,
          attachments: first.attachments,
        });
        if (!rest.length) return;
        const player = await discordPlayer(tx, person);
        for (const m of rest)
          await recordDm(
            tx,
            { ticketId, messageId: m.id, body: dmBody(m), attachments: m.attachments },
            player,
          );
      },
    },
  });
  await clearPending(ctx.deps, person.id);
  return say(locale, result.created ? 'dm.opened' : 'dm.alreadyOpened', {
    number: result.ticket.number,
    server: guild.name,
  });
}

/** A DM's sender as the ticket code knows people (no roles: a DM has no server). */
export function personOf(u: Pick<User, 'id' | 'username' | 'globalName' | 'avatar'>): DiscordPerson {
  return { id: u.id, username: u.username, globalName: u.globalName, avatar: u.avatar, roleIds: [] };
}

/** A context for handlers that run outside an interaction (a DM), like runHandler gives. */
export function dmCtx(deps: BotDeps, userId: string): Ctx {
  const requestId = randomUUID();
  return { deps, requestId, log: deps.logger.child({ requestId, dmFrom: userId }) };
}
