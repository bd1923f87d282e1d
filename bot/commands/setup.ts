import {
  ChannelFlags,
  ChannelType,
  type ChatInputCommandInteraction,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from 'discord.js';
import { createCategory, findCategoryByName } from '../../db/categories.js';
import type { Actor } from '../../db/changes.js';
import { createOrgForGuild, redeemGuildLinkCode } from '../../db/guild-links.js';
import { listRoleMappings, removeRoleMapping, setRoleMapping } from '../../db/guild-roles.js';
import { type CategorySettings, type GuildSettings, getGuild, updateGuildSettings } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import type { Locale } from '../../lib/i18n/locales.js';
import { t as say } from '../../lib/i18n/messages.js';
import { profileOf, resolveWho } from '../auth.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, type Ctx, respond } from '../handler.js';
import { missingPermissions, namesParam, PLACE_PERMISSIONS, type Place } from '../permissions.js';
import { localeOf, refuse } from '../say.js';

// Owner is not among them: ownership is given in the panel, never through a Discord role.
const ROLE_KEYS = ['admin', 'moderator', 'agent', 'viewer'] as const;
const TEXT = [ChannelType.GuildText, ChannelType.GuildAnnouncement] as const;
// Private threads cannot be made in announcement channels: ticket threads need a text channel.
const THREAD_PARENTS = [ChannelType.GuildText] as const;

const data = new SlashCommandBuilder()
  .setName('setup')
  .setDescription('Link this server to GameMod and configure tickets')
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setDMPermission(false)
  .addSubcommand((s) =>
    s
      .setName('link')
      .setDescription('Link this server to your studio with a code from the GameMod panel')
      .addStringOption((o) =>
        o.setName('code').setDescription('The link code').setRequired(true).setMaxLength(64),
      ),
  )
  .addSubcommand((s) =>
    s.setName('create').setDescription('Create a new GameMod organization owned by the server owner'),
  )
  .addSubcommand((s) =>
    s
      .setName('channels')
      .setDescription('Support, transcript and alert channels')
      .addChannelOption((o) =>
        o
          .setName('support')
          .setDescription('Where ticket threads are made')
          .addChannelTypes(...THREAD_PARENTS),
      )
      .addChannelOption((o) =>
        o
          .setName('transcripts')
          .setDescription('Where transcripts of closed tickets go')
          .addChannelTypes(...TEXT),
      )
      .addChannelOption((o) =>
        o
          .setName('alerts')
          .setDescription('Where staff alerts go')
          .addChannelTypes(...TEXT),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('category')
      .setDescription('Add or configure a ticket category')
      .addStringOption((o) =>
        o.setName('name').setDescription('Category name').setRequired(true).setMaxLength(100),
      )
      .addStringOption((o) =>
        o
          .setName('mode')
          .setDescription('How its tickets appear')
          .addChoices(
            { name: 'private thread', value: 'thread' },
            { name: 'forum post', value: 'forum' },
            { name: 'dedicated channel', value: 'channel' },
          ),
      )
      .addChannelOption((o) =>
        o
          .setName('channel')
          .setDescription('Text channel (thread), forum (post) or channel category (channel)')
          .addChannelTypes(ChannelType.GuildText, ChannelType.GuildForum, ChannelType.GuildCategory),
      )
      .addChannelOption((o) =>
        o
          .setName('overflow')
          .setDescription('Channel mode: another channel category for when the first holds 50 channels')
          .addChannelTypes(ChannelType.GuildCategory),
      )
      .addStringOption((o) =>
        o
          .setName('tag')
          .setDescription('Forum mode: the forum tag its posts get (required by forums that require tags)')
          .setMaxLength(20),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('role')
      .setDescription('Map a Discord role to a GameMod role')
      .addRoleOption((o) => o.setName('role').setDescription('Discord role').setRequired(true))
      .addStringOption((o) =>
        o
          .setName('as')
          .setDescription('GameMod role')
          .setRequired(true)
          .addChoices(...ROLE_KEYS.map((k) => ({ name: k, value: k }))),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('unrole')
      .setDescription('Remove a Discord role mapping')
      .addRoleOption((o) => o.setName('role').setDescription('Discord role').setRequired(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('limits')
      .setDescription('Limits for players')
      .addIntegerOption((o) =>
        o.setName('max_open').setDescription('Open tickets per player').setMinValue(1).setMaxValue(50),
      )
      .addIntegerOption((o) =>
        o
          .setName('cooldown')
          .setDescription('Seconds between two tickets')
          .setMinValue(0)
          .setMaxValue(86_400),
      ),
  )
  .addSubcommand((s) => s.setName('show').setDescription('Show this server’s settings'));

function isGuildAdmin(i: ChatInputCommandInteraction): boolean {
  return !!i.memberPermissions?.any([PermissionFlagsBits.ManageGuild, PermissionFlagsBits.Administrator]);
}

/** A channel given for a mode that cannot use it: what that mode needs instead. */
const PLACE_MISMATCH = {
  thread: 'setup.placeThread',
  forum: 'setup.placeForum',
  channel: 'setup.placeChannel',
} as const;

const MODE_CHANNEL: Record<string, number[]> = {
  thread: [...THREAD_PARENTS],
  forum: [ChannelType.GuildForum],
  channel: [ChannelType.GuildCategory],
};

/**
 * Refuses a place the bot could not work in, naming each missing permission: computed from the
 * guild's roles and the channel's overwrites as the gateway gave them, like Discord will.
 */
function requirePlace(i: ChatInputCommandInteraction, channelId: string, place: Place): void {
  const channel = i.guild?.channels.cache.get(channelId);
  const me = i.guild?.members.me;
  // Not cached (a channel made a moment ago): Discord's own refusal will name the problem later.
  if (!channel || !me) return;
  const missing = missingPermissions(channel.permissionsFor(me).bitfield, PLACE_PERMISSIONS[place]);
  if (missing.length)
    throw refuse('forbidden', missing.length > 1 ? 'setup.missingMany' : 'setup.missingOne', {
      names: namesParam(missing),
      channel: `<#${channelId}>`,
    });
}

/**
 * The forum tag a category's posts get: the one named (by name or id), else the one kept from
 * before, else none; refused when the forum requires a tag and none would be applied.
 */
function forumTag(
  i: ChatInputCommandInteraction,
  forumId: string,
  categoryName: string,
  given: string | null,
  stored: string | undefined,
): string | undefined {
  const forum = i.guild?.channels.cache.get(forumId);
  if (!forum || forum.type !== ChannelType.GuildForum) return given ?? stored;
  const tags = forum.availableTags;
  const listed = tags.map((t) => `**${t.name}**`).join(', ');
  const names = listed ? listed : (locale: Locale) => say(locale, 'setup.tagsNone');
  if (given) {
    const tag = tags.find((t) => t.id === given || t.name.toLowerCase() === given.trim().toLowerCase());
    if (!tag) throw refuse('validation_failed', 'setup.noTag', { forum: `<#${forumId}>`, tag: given, names });
    return tag.id;
  }
  const kept = stored && tags.some((t) => t.id === stored) ? stored : undefined;
  const named = tags.find((t) => t.name.toLowerCase() === categoryName.toLowerCase());
  if (!kept && !named && forum.flags.has(ChannelFlags.RequireTag))
    throw refuse('validation_failed', 'setup.tagRequired', { forum: `<#${forumId}>`, names });
  return kept;
}

async function adminActor(ctx: Ctx, i: ChatInputCommandInteraction): Promise<Actor> {
  const user = await upsertDiscordUser(ctx.deps.pool, profileOf(personOf(i)));
  return { type: 'user', id: user.id, requestId: ctx.requestId };
}

export const setup: CommandHandler = {
  data: data.toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const { deps } = ctx;
    const guildId = i.guildId;
    // Set-up answers are in the admin's own language, like every answer to an interaction.
    const locale = localeOf(i);
    if (!guildId) throw refuse('bad_request', 'setup.inServer');
    const sub = i.options.getSubcommand();
    const guildName = (i.guild?.name ?? 'Discord server').slice(0, 100);
    if (sub === 'link') {
      if (!isGuildAdmin(i)) throw refuse('forbidden', 'setup.linkAdminOnly');
      const actor = await adminActor(ctx, i);
      await redeemGuildLinkCode(
        deps.pool,
        { code: i.options.getString('code', true), guildId, guildName },
        actor,
      );
      deps.orgs.delete(guildId);
      await respond(i, say(locale, 'setup.linked'));
      return;
    }
    if (sub === 'create') {
      const ownerId = i.guild?.ownerId;
      if (!ownerId || ownerId !== i.user.id) throw refuse('forbidden', 'setup.ownerOnly');
      const actor = await adminActor(ctx, i);
      await createOrgForGuild(
        deps.pool,
        { guildId, guildName, ownerUserId: actor.type === 'user' ? actor.id : '' },
        actor,
      );
      deps.orgs.delete(guildId);
      await respond(i, say(locale, 'setup.created', { name: guildName }));
      return;
    }
    const who = await resolveWho(deps, guildId, personOf(i), ctx.requestId);
    if (sub === 'role' || sub === 'unrole') {
      // Mappings hand out org permissions, so they need a real org permission: Discord's Manage
      // Server (anyone a server admin trusts) or a permission that itself came from a mapping
      // would let people raise themselves.
      if (!who.memberPermissions.has('roles.manage')) throw refuse('forbidden', 'setup.rolesPermission');
    } else if (!isGuildAdmin(i) && !who.permissions.has('guilds.manage'))
      throw refuse('forbidden', 'setup.permission');
    const actor = who.staff ?? (await adminActor(ctx, i));
    const text = await withTenant(deps.pool, who.orgId, async (tx) => {
      switch (sub) {
        case 'channels': {
          const patch: GuildSettings = {};
          const support = i.options.getChannel('support');
          const transcripts = i.options.getChannel('transcripts');
          const alerts = i.options.getChannel('alerts');
          if (support) requirePlace(i, support.id, 'thread');
          if (transcripts) requirePlace(i, transcripts.id, 'post');
          if (alerts) requirePlace(i, alerts.id, 'post');
          if (support) patch.supportChannelId = support.id;
          if (transcripts) patch.transcriptChannelId = transcripts.id;
          if (alerts) patch.alertChannelId = alerts.id;
          if (!Object.keys(patch).length) throw refuse('validation_failed', 'setup.noChannel');
          await updateGuildSettings(tx, guildId, patch, actor);
          return say(locale, 'setup.channelsSaved');
        }
        case 'category': {
          const name = i.options.getString('name', true).trim();
          const mode = (i.options.getString('mode') ?? undefined) as
            | 'thread'
            | 'forum'
            | 'channel'
            | undefined;
          const channel = i.options.getChannel('channel');
          const overflow = i.options.getChannel('overflow');
          let category = await findCategoryByName(tx, name);
          const stored = category
            ? ((await getGuild(tx, guildId)).settings.categories?.[category.id] ?? {})
            : ({} as CategorySettings);
          // An existing category keeps its mode unless a new one is given.
          const effective = mode ?? stored.mode ?? category?.ticketMode ?? 'thread';
          if (channel && !MODE_CHANNEL[effective]?.includes(channel.type as number))
            throw refuse('validation_failed', PLACE_MISMATCH[effective], { channel: `<#${channel.id}>` });
          const hasChannel = !!channel || (!!stored.channelId && (!mode || mode === stored.mode));
          if (effective === 'forum' && !hasChannel)
            throw refuse('validation_failed', 'setup.forumNeedsChannel');
          if (effective === 'channel' && !hasChannel)
            throw refuse('validation_failed', 'setup.channelNeedsCategory');
          const place = channel?.id ?? (mode && mode !== stored.mode ? undefined : stored.channelId);
          if (place) requirePlace(i, place, effective);
          if (overflow) requirePlace(i, overflow.id, 'channel');
          if (i.options.getString('tag') && effective !== 'forum')
            throw refuse('validation_failed', 'setup.tagForumOnly');
          const tag =
            effective === 'forum' && place
              ? forumTag(i, place, category?.name ?? name, i.options.getString('tag'), stored.forumTagId)
              : undefined;
          if (!category) category = await createCategory(tx, { name, ticketMode: effective }, actor);
          // More overflow categories add to the list rather than replace it.
          const overflowIds = overflow
            ? [...new Set([...(stored.overflowCategoryIds ?? []), overflow.id])]
            : undefined;
          await updateGuildSettings(
            tx,
            guildId,
            {
              categories: {
                [category.id]: {
                  ...(mode ? { mode } : {}),
                  ...(channel ? { channelId: channel.id } : {}),
                  ...(overflowIds ? { overflowCategoryIds: overflowIds } : {}),
                  ...(tag ? { forumTagId: tag } : {}),
                },
              },
            },
            actor,
          );
          deps.categories.delete(who.orgId);
          const saved = channel
            ? say(locale, 'setup.categorySavedIn', {
                name: category.name,
                mode: effective,
                channel: `<#${channel.id}>`,
              })
            : say(locale, 'setup.categorySaved', { name: category.name, mode: effective });
          // Discord has no private forum posts: say so, and how to keep tickets private instead.
          return effective === 'forum'
            ? `${saved}\n${say(locale, 'setup.forumPublic', {
                place: place ? `<#${place}>` : say(locale, 'setup.theForum'),
                name: category.name,
              })}`
            : saved;
        }
        case 'role': {
          const role = i.options.getRole('role', true);
          if (role.id === guildId) throw refuse('validation_failed', 'setup.everyoneRole');
          const key = i.options.getString('as', true);
          // db/ refuses owner and any role (mapped or replaced) above the actor's own membership.
          const m = await setRoleMapping(tx, { guildId, discordRoleId: role.id, roleKey: key }, actor);
          return say(locale, 'setup.roleMapped', { role: `<@&${role.id}>`, key: m.roleKey });
        }
        case 'unrole': {
          const role = i.options.getRole('role', true);
          const removed = await removeRoleMapping(tx, guildId, role.id, actor);
          return say(locale, removed ? 'setup.roleUnmapped' : 'setup.roleNotMapped', {
            role: `<@&${role.id}>`,
          });
        }
        case 'limits': {
          const patch: GuildSettings = {};
          const max = i.options.getInteger('max_open');
          const cooldown = i.options.getInteger('cooldown');
          if (max !== null) patch.maxOpenPerPlayer = max;
          if (cooldown !== null) patch.cooldownSeconds = cooldown;
          if (!Object.keys(patch).length) throw refuse('validation_failed', 'setup.noLimits');
          await updateGuildSettings(tx, guildId, patch, actor);
          return say(locale, 'setup.limitsSaved');
        }
        default: {
          const g = await getGuild(tx, guildId);
          const maps = await listRoleMappings(tx, guildId);
          const s = g.settings;
          const where = (id: string | undefined) => (id ? `<#${id}>` : say(locale, 'setup.notSet'));
          return [
            say(locale, 'setup.showSupport', { channel: where(s.supportChannelId) }),
            say(locale, 'setup.showTranscripts', { channel: where(s.transcriptChannelId) }),
            say(locale, 'setup.showAlerts', { channel: where(s.alertChannelId) }),
            say(locale, 'setup.showLimits', {
              max: s.maxOpenPerPlayer ?? 3,
              seconds: s.cooldownSeconds ?? 60,
            }),
            say(locale, 'setup.showRoles', {
              roles:
                maps.map((m) => `<@&${m.discordRoleId}> → ${m.roleKey}`).join(', ') ||
                say(locale, 'setup.noneMapped'),
            }),
          ].join('\n');
        }
      }
    });
    await respond(i, text);
  },
};
