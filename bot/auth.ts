import { PermissionFlagsBits } from 'discord.js';
import type { Actor } from '../db/changes.js';
import { callerFromStanding, discordPlayer, readDiscordStanding } from '../db/discord-standing.js';
import type { DiscordTicket } from '../db/discord-sync.js';
import { type Guild, getGuild, orgForGuild } from '../db/guilds.js';
import type { Permission } from '../db/permissions.js';
import { type Tx, withTenant } from '../db/tenant.js';
import { upsertDiscordUser } from '../db/users.js';
import { AppError } from '../lib/errors.js';
import type { BotDeps } from './context.js';
import { staffActive } from './presence.js';
import { refuse } from './say.js';

/** The Discord person behind an interaction or message, as much as the bot needs of them. */
export interface DiscordPerson {
  id: string;
  username: string;
  globalName: string | null;
  avatar: string | null;
  /** Their role ids in the guild (interaction and message payloads carry them). */
  roleIds: readonly string[];
  /**
   * False when the payload carried no member (a DM, a user option naming someone not in the
   * server): the empty roleIds then say nothing, and no role-derived membership is revised.
   */
  rolesKnown?: boolean;
  /** Their Discord permissions in the channel, when known (interactions carry them). */
  discordPermissions?: bigint | null;
}

/** The org a guild belongs to, from a short-lived cache in front of gm_org_for_guild. */
export async function orgOf(deps: BotDeps, guildId: string | null): Promise<string> {
  if (!guildId) throw refuse('bad_request', 'refuse.inServer');
  const cached = deps.orgs.lookup(guildId);
  let orgId: string | null;
  if (cached.hit) orgId = cached.value;
  else {
    orgId = await orgForGuild(deps.pool, guildId);
    // Unlinked guilds are cached briefly, so a fresh /setup shows up within seconds.
    deps.orgs.set(guildId, orgId, orgId ? 60_000 : 5_000);
  }
  if (!orgId) throw refuse('not_found', 'refuse.notSetUp');
  return orgId;
}

/** Who is acting, in which org, with which permissions (org RBAC through the guild's role mapping). */
export interface Who {
  orgId: string;
  guildId: string;
  person: DiscordPerson;
  permissions: Set<string>;
  /** What a real org membership gives (not a Discord role mapping): what changing mappings needs. */
  memberPermissions: Set<string>;
  /** Whether the person is a member of the org (assignments need it). */
  isMember: boolean;
  /** The staff actor, when the person holds any org permission. */
  staff: (Actor & { type: 'user' }) | null;
  /** Discord's own "Manage Server" (or Administrator, or ownership): what /setup needs. */
  isGuildAdmin: boolean;
}

export interface WhoOptions {
  join?: boolean;
  rolesKnown?: boolean;
  /** A channel whose ticket to read in the same statement as the caller (`then` gets it). */
  ticketIn?: string;
}

/**
 * Resolves who is acting. Permissions that come from Discord roles are derived afresh from the
 * roles the interaction or message carries, every time: a removed role or mapping takes them
 * away at once. With `join` (the default: the person acts, or is being assigned), a person with a
 * mapped role becomes a marked member of the org; plain chat passes `join: false`.
 */
export async function resolveWho(
  deps: BotDeps,
  guildId: string | null,
  person: DiscordPerson,
  requestId: string,
  opts: WhoOptions = {},
): Promise<Who> {
  return (await resolveWhoThen(deps, guildId, person, requestId, opts, async () => undefined)).who;
}

/**
 * resolveWho, then `then` in the same transaction: an interaction's caller and what it works on
 * (its ticket, say) are read in one transaction, the caller in one statement, instead of a
 * transaction each. `then` should return what it found rather than throw a refusal, so a
 * membership the caller's mapped role just made is kept.
 */
export async function resolveWhoThen<T>(
  deps: BotDeps,
  guildId: string | null,
  person: DiscordPerson,
  requestId: string,
  opts: WhoOptions,
  then: (tx: Tx, who: Who, ticketHere: DiscordTicket | undefined) => Promise<T>,
): Promise<{ who: Who; value: T }> {
  const orgId = await orgOf(deps, guildId);
  const gid = guildId as string;
  const attempt = () =>
    withTenant(deps.pool, orgId, async (tx) => {
      const r = await whoAndTicketIn(tx, gid, person, requestId, opts);
      return r && { who: r.who, value: await then(tx, r.who, r.ticketHere) };
    });
  let resolved = await attempt();
  if (!resolved) {
    await upsertDiscordUser(deps.pool, profileOf(person));
    resolved = await attempt();
  }
  if (!resolved) throw new AppError('internal', 'the Discord account was not found after it was made');
  if (resolved.who.staff) staffActive(deps, orgId, resolved.who.staff.id);
  return resolved;
}

/**
 * Who is acting, read inside the caller's transaction (one statement when nothing changes); null
 * for someone with a mapped role and no account yet, which `upsertDiscordUser` makes outside it.
 */
export async function whoIn(
  tx: Tx,
  guildId: string,
  person: DiscordPerson,
  requestId: string,
  opts: WhoOptions = {},
): Promise<Who | null> {
  return (await whoAndTicketIn(tx, guildId, person, requestId, opts))?.who ?? null;
}

/** whoIn, and with `ticketIn` the ticket of that channel, read in the same statement. */
async function whoAndTicketIn(
  tx: Tx,
  guildId: string,
  person: DiscordPerson,
  requestId: string,
  opts: WhoOptions,
): Promise<{ who: Who; ticketHere: DiscordTicket | undefined } | null> {
  const standing = await readDiscordStanding(tx, guildId, person.id, person.roleIds, opts.ticketIn);
  const caller = await callerFromStanding(
    tx,
    guildId,
    standing,
    person.roleIds,
    opts.join ?? true,
    opts.rolesKnown ?? person.rolesKnown ?? true,
  );
  if (!caller) return null;
  const who = whoOf(tx.orgId, guildId, person, caller.userId, caller.access, requestId);
  return { who, ticketHere: standing.ticketHere };
}

function whoOf(
  orgId: string,
  guildId: string,
  person: DiscordPerson,
  userId: string | null,
  access: { permissions: Set<string>; memberPermissions: Set<string>; isMember: boolean },
  requestId: string,
): Who {
  const permissions = access.permissions;
  const staff = userId && permissions.size > 0 ? { type: 'user' as const, id: userId, requestId } : null;
  const admin = person.discordPermissions
    ? (person.discordPermissions & (PermissionFlagsBits.ManageGuild | PermissionFlagsBits.Administrator)) !==
      0n
    : false;
  return {
    orgId,
    guildId,
    person,
    permissions,
    memberPermissions: access.memberPermissions,
    isMember: access.isMember,
    staff,
    isGuildAdmin: admin,
  };
}

/** Who is acting and the ticket of the thread, post or channel they act in: one transaction. */
export async function whoAndTicketHere(
  deps: BotDeps,
  guildId: string | null,
  channelId: string | null,
  person: DiscordPerson,
  requestId: string,
): Promise<{ who: Who; ticket: DiscordTicket }> {
  const { who, value: ticket } = await resolveWhoThen(
    deps,
    guildId,
    person,
    requestId,
    channelId ? { ticketIn: channelId } : {},
    async (_tx, _who, here) => here,
  );
  if (!channelId) throw refuse('bad_request', 'refuse.runInTicket');
  if (!ticket) throw refuse('not_found', 'refuse.notTicket');
  return { who, ticket };
}

export function profileOf(p: DiscordPerson) {
  return { discordUserId: p.id, username: p.username, globalName: p.globalName, avatar: p.avatar };
}

/** Throws a clear refusal unless the person holds the permission. */
export function requirePermission(who: Who, permission: Permission): Actor & { type: 'user' } {
  if (!who.staff || !who.permissions.has(permission)) {
    throw refuse('forbidden', 'refuse.permission', { permission });
  }
  return who.staff;
}

/** The player profile of a Discord user in this org (created on first sight). */
export function playerActor(tx: Tx, person: DiscordPerson): Promise<Actor & { type: 'player' }> {
  return discordPlayer(tx, person);
}

/** The guild row with its settings; a guild unlinked in the meantime reads as not set up. */
export async function guildOf(tx: Tx, guildId: string): Promise<Guild> {
  try {
    return await getGuild(tx, guildId);
  } catch {
    throw refuse('not_found', 'refuse.notSetUp');
  }
}
