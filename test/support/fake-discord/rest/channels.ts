import { basePermissions, channelPermissions, checkOverwriteBits, Perm, requireBot } from '../access.js';
import { apiError, Errors, type FakeContext, ok, type RestReply, type Route } from '../context.js';
import { channelCreateSchema, channelModifySchema, LIMITS } from '../limits.js';
import { type Channel, ChannelType } from '../state.js';
import { dispatchChannelUpdate, isReply, messageChannel, parse } from './common.js';

function deleteChannel(fake: FakeContext, channel: Channel): void {
  fake.state.removeChannel(channel.id);
  fake.gateway.dispatch(
    channel.guild_id,
    channel.thread_metadata ? 'THREAD_DELETE' : 'CHANNEL_DELETE',
    channel.thread_metadata
      ? { id: channel.id, guild_id: channel.guild_id, parent_id: channel.parent_id, type: channel.type }
      : fake.state.channelPayload(channel),
  );
}

export { deleteChannel };

export const channelRoutes: Route[] = [
  {
    method: 'GET',
    template: '/channels/:channel_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      return requireBot(fake.state, channel, Perm.ViewChannel) ?? ok(fake.state.channelPayload(channel));
    },
  },
  {
    method: 'PATCH',
    template: '/channels/:channel_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const parsed = parse(channelModifySchema, req.body);
      if (!parsed.ok) return parsed.reply;
      const b = parsed.data;
      const meta = channel.thread_metadata;
      const refused = modifyRefusal(fake, channel, b);
      if (refused) return refused;
      if (!meta && (b.archived !== undefined || b.locked !== undefined || b.invitable !== undefined)) {
        return Errors.wrongChannelType();
      }
      if (meta) {
        // A locked and archived thread only accepts unlocking/unarchiving.
        const touchesOther = b.name !== undefined || b.applied_tags !== undefined;
        if (meta.archived && meta.locked && touchesOther && b.archived !== false)
          return Errors.threadArchived();
        if (b.archived !== undefined && b.archived !== meta.archived) {
          meta.archived = b.archived;
          meta.archive_timestamp = new Date().toISOString();
        }
        if (b.locked !== undefined) meta.locked = b.locked;
        if (b.invitable !== undefined && channel.type === ChannelType.PrivateThread)
          meta.invitable = b.invitable;
        if (b.auto_archive_duration !== undefined) meta.auto_archive_duration = b.auto_archive_duration;
        if (b.applied_tags !== undefined) channel.applied_tags = b.applied_tags;
      } else {
        if (b.topic !== undefined) channel.topic = b.topic;
        if (b.position !== undefined && b.position !== null) channel.position = b.position;
        if (b.parent_id !== undefined) channel.parent_id = b.parent_id;
      }
      if (b.name !== undefined) channel.name = b.name;
      dispatchChannelUpdate(fake, channel);
      return ok(fake.state.channelPayload(channel));
    },
  },
  {
    method: 'DELETE',
    template: '/channels/:channel_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const refused = requireBot(
        fake.state,
        channel,
        channel.thread_metadata ? Perm.ManageThreads : Perm.ManageChannels,
      );
      if (refused) return refused;
      deleteChannel(fake, channel);
      return ok(fake.state.channelPayload(channel));
    },
  },
  {
    method: 'GET',
    template: '/guilds/:guild_id/channels',
    auth: 'bot',
    handler: (req, fake) => {
      const id = req.params['guild_id'] ?? '';
      if (!fake.state.guilds.has(id)) return Errors.unknownGuild();
      return ok(fake.state.guildChannels(id).map((c) => fake.state.channelPayload(c)));
    },
  },
  {
    method: 'POST',
    template: '/guilds/:guild_id/channels',
    auth: 'bot',
    handler: (req, fake) => {
      const guildId = req.params['guild_id'] ?? '';
      if (!fake.state.guilds.has(guildId)) return Errors.unknownGuild();
      const parsed = parse(channelCreateSchema, req.body);
      if (!parsed.ok) return parsed.reply;
      const b = parsed.data;
      const type = b.type ?? ChannelType.GuildText;
      const refused = createRefusal(
        fake,
        guildId,
        b.parent_id ?? null,
        (b.permission_overwrites ?? []) as { allow?: string | null; deny?: string | null }[],
      );
      if (refused) return refused;
      const existing = fake.state.guildChannels(guildId);
      if (existing.length >= LIMITS.channelsPerGuild) {
        return apiError(400, 30013, `Maximum number of guild channels reached (${LIMITS.channelsPerGuild})`);
      }
      if (b.parent_id) {
        const parent = fake.state.channels.get(b.parent_id);
        if (!parent || parent.guild_id !== guildId || parent.type !== ChannelType.GuildCategory) {
          return Errors.invalidFormBody({
            parent_id: { _errors: [{ code: 'CHANNEL_PARENT_INVALID_TYPE', message: 'Not a category' }] },
          });
        }
        if (type === ChannelType.GuildCategory) {
          return Errors.invalidFormBody({
            parent_id: {
              _errors: [
                { code: 'CHANNEL_PARENT_INVALID_TYPE', message: 'Categories cannot have subcategories' },
              ],
            },
          });
        }
        if (existing.filter((c) => c.parent_id === parent.id).length >= LIMITS.channelsPerCategory) {
          return Errors.invalidFormBody({
            parent_id: {
              _errors: [
                {
                  code: 'CHANNEL_PARENT_MAX_CHANNELS',
                  message: `Maximum number of channels in category reached (${LIMITS.channelsPerCategory})`,
                },
              ],
            },
          });
        }
      }
      // Text channel names are lower-cased and spaces become dashes.
      const name = type === ChannelType.GuildText ? b.name.toLowerCase().replace(/\s+/g, '-') : b.name;
      const channel = fake.state.createChannel(guildId, {
        name,
        type,
        parent_id: b.parent_id ?? null,
        topic: b.topic ?? null,
        nsfw: b.nsfw ?? false,
        rate_limit_per_user: b.rate_limit_per_user ?? 0,
        permission_overwrites: b.permission_overwrites ?? [],
        ...(b.position !== undefined && b.position !== null ? { position: b.position } : {}),
      });
      fake.gateway.dispatch(guildId, 'CHANNEL_CREATE', fake.state.channelPayload(channel));
      return ok(fake.state.channelPayload(channel), 201);
    },
  },
];

/**
 * Creating a channel needs Manage Channels (in the parent category when there is one); setting
 * overwrites on it needs Manage Roles, and only permissions the bot holds there.
 */
function createRefusal(
  fake: FakeContext,
  guildId: string,
  parentId: string | null,
  overwrites: { allow?: string | null; deny?: string | null }[],
): RestReply | null {
  const parent = parentId ? fake.state.channels.get(parentId) : undefined;
  const held =
    parent && parent.guild_id === guildId
      ? channelPermissions(fake.state, parent, fake.state.botUser.id)
      : basePermissions(fake.state, guildId, fake.state.botUser.id);
  if (parent && !(held & Perm.ViewChannel)) return Errors.missingAccess();
  if (!(held & Perm.ManageChannels)) return Errors.missingPermissions();
  return overwrites.length ? checkOverwriteBits(fake.state, guildId, held, overwrites, false) : null;
}

/**
 * Modify Channel: Manage Channels on a channel (and Manage Roles for its overwrites). On a
 * thread, Manage Threads, except that its creator may rename, archive and re-tag it, and anyone
 * who can post may unarchive an unlocked one; locking takes Manage Threads.
 */
function modifyRefusal(fake: FakeContext, channel: Channel, b: Record<string, unknown>): RestReply | null {
  const state = fake.state;
  const meta = channel.thread_metadata;
  if (!meta) {
    return requireBot(
      state,
      channel,
      Perm.ManageChannels | (b['permission_overwrites'] !== undefined ? Perm.ManageRoles : 0n),
    );
  }
  const keys = Object.keys(b).filter((k) => b[k] !== undefined);
  const onlyUnarchive = keys.every((k) => k === 'archived') && b['archived'] === false && !meta.locked;
  if (onlyUnarchive) return requireBot(state, channel, Perm.SendMessagesInThreads);
  const creatorMay = keys.every((k) =>
    ['name', 'archived', 'auto_archive_duration', 'applied_tags'].includes(k),
  );
  if (creatorMay && channel.owner_id === state.botUser.id && !meta.locked)
    return requireBot(state, channel, Perm.ViewChannel);
  return requireBot(state, channel, Perm.ManageThreads);
}
