import { BOT_PERMISSIONS } from '../../../bot/permissions.js';
import { channelPermissions } from './access.js';
import { randomToken, snowflake, snowflakeOnShard } from './snowflake.js';

export type Json = Record<string, unknown>;

export const ChannelType = {
  GuildText: 0,
  DM: 1,
  GuildVoice: 2,
  GuildCategory: 4,
  GuildAnnouncement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12,
  GuildForum: 15,
} as const;

export const THREAD_TYPES: ReadonlySet<number> = new Set([10, 11, 12]);
/** Channel types that hold messages directly. */
export const MESSAGE_CHANNEL_TYPES: ReadonlySet<number> = new Set([0, 1, 2, 5, 10, 11, 12]);

export interface User {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: string | null;
  bot: boolean;
  system?: boolean;
  public_flags: number;
  flags: number;
  email?: string | null;
  verified?: boolean;
  locale?: string;
}

export interface Role {
  id: string;
  name: string;
  color: number;
  colors: { primary_color: number; secondary_color: number | null; tertiary_color: number | null };
  hoist: boolean;
  icon: string | null;
  unicode_emoji: string | null;
  position: number;
  permissions: string;
  managed: boolean;
  mentionable: boolean;
  flags: number;
}

export interface Member {
  user_id: string;
  nick: string | null;
  roles: string[];
  joined_at: string;
  deaf: boolean;
  mute: boolean;
  flags: number;
  pending: boolean;
}

export interface ThreadMetadata {
  archived: boolean;
  auto_archive_duration: number;
  archive_timestamp: string;
  locked: boolean;
  invitable?: boolean;
  create_timestamp: string;
}

export interface Channel {
  id: string;
  type: number;
  guild_id: string;
  name: string;
  position: number;
  parent_id: string | null;
  permission_overwrites: unknown[];
  topic: string | null;
  nsfw: boolean;
  last_message_id: string | null;
  rate_limit_per_user: number;
  flags: number;
  owner_id?: string;
  thread_metadata?: ThreadMetadata;
  message_count?: number;
  member_count?: number;
  total_message_sent?: number;
  applied_tags?: string[];
  available_tags?: ForumTag[];
  default_reaction_emoji?: unknown;
  default_sort_order?: number | null;
  default_forum_layout?: number;
  default_thread_rate_limit_per_user?: number;
  /** A DM channel's other user (guild_id is '' for DMs). */
  recipients?: string[];
}

export interface Message {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: User;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: unknown[];
  mention_roles: string[];
  attachments: unknown[];
  embeds: unknown[];
  components: unknown[];
  pinned: boolean;
  type: number;
  flags: number;
  webhook_id?: string;
  application_id?: string;
  position?: number;
  message_reference?: Json;
  thread?: Json;
  interaction_metadata?: Json;
  nonce?: string | number;
}

export interface Webhook {
  id: string;
  type: number;
  guild_id: string | null;
  channel_id: string | null;
  name: string | null;
  avatar: string | null;
  token: string;
  application_id: string | null;
  user?: User;
}

export interface Guild {
  id: string;
  name: string;
  owner_id: string;
  joined_at: string;
  roles: Map<string, Role>;
  members: Map<string, Member>;
  channelIds: string[];
  preferred_locale: string;
}

export interface SeedChannel {
  name: string;
  type?: number;
  parent?: string;
  topic?: string;
  /** Channel flags, e.g. a forum's REQUIRE_TAG (`1 << 4`). */
  flags?: number;
  /** A forum's tags, by name (ids are made up). */
  tags?: { name: string; moderated?: boolean }[];
  permissionOverwrites?: { id: string; type: number; allow: string; deny: string }[];
}

export interface ForumTag {
  id: string;
  name: string;
  moderated: boolean;
  emoji_id: string | null;
  emoji_name: string | null;
}

export interface SeedRole {
  name: string;
  permissions?: string;
  color?: number;
}

export interface AddGuildOptions {
  name: string;
  /** Channels to create; `parent` names a category created earlier in the list. */
  channels?: SeedChannel[];
  roles?: SeedRole[];
  ownerId?: string;
  /** Pick an id that routes to shard `[id, count]` (`(guild_id >> 22) % count`). */
  shard?: [number, number];
  /** Extra members: user ids (created with `addUser` first). */
  members?: string[];
  /**
   * The permissions of the bot's managed role. Default: exactly the bot's documented list
   * (bot/permissions.ts), never Administrator, as an invite with that list gives it.
   */
  botPermissions?: bigint | string;
  /**
   * @everyone's permissions. Default: Discord's default for a new server, which already grants
   * the bot (as everyone) most message permissions; tests that prove the bot needs only its own
   * list set `0n`.
   */
  everyonePermissions?: bigint | string;
}

export interface SeededGuild {
  id: string;
  everyoneRoleId: string;
  /** Channel ids by name. */
  channels: Record<string, string>;
  /** Role ids by name. */
  roles: Record<string, string>;
  /** The bot's managed role. */
  botRoleId: string;
}

export const ALL_PERMISSIONS = '2251799813685247';
export const DEFAULT_EVERYONE_PERMISSIONS = '2248473465835073';
/**
 * An @everyone that may only look and use commands (View Channels, Read Message History, Use
 * Application Commands): with it the bot holds nothing beyond its own documented list, since
 * both looking permissions are on that list.
 */
export const READ_ONLY_EVERYONE = ((1n << 10n) | (1n << 16n) | (1n << 31n)).toString();

/** Everything the fake Discord holds in memory. */
export class DiscordState {
  readonly applicationId: string;
  readonly botToken: string;
  readonly clientSecret: string;
  readonly botUser: User;
  readonly users = new Map<string, User>();
  readonly guilds = new Map<string, Guild>();
  readonly channels = new Map<string, Channel>();
  readonly messages = new Map<string, Map<string, Message>>();
  /** Users who accept no direct messages from the bot (Discord answers 50007). */
  readonly dmsClosed = new Set<string>();
  /** `channel/message` → the emoji the bot reacted with (unicode, or `name:id`). */
  readonly botReactions = new Map<string, Set<string>>();
  readonly threadMembers = new Map<string, Map<string, { join_timestamp: string; flags: number }>>();
  readonly webhooks = new Map<string, Webhook>();
  /** `author:nonce` → the message an `enforce_nonce` post made (see `NONCE_WINDOW_MS`). */
  readonly nonces = new Map<string, { channelId: string; messageId: string; at: number }>();
  readonly globalCommands: Json[] = [];
  readonly guildCommands = new Map<string, Json[]>();
  /** `X-Audit-Log-Reason` values by request, newest last. */
  readonly auditLog: { guildId: string | null; route: string; reason: string; at: number }[] = [];

  constructor(opts: { applicationId?: string; botToken?: string; botName?: string; clientSecret?: string }) {
    this.applicationId = opts.applicationId ?? snowflake();
    this.botUser = {
      id: this.applicationId,
      username: opts.botName ?? 'GameMod',
      global_name: null,
      discriminator: '0',
      avatar: null,
      bot: true,
      public_flags: 0,
      flags: 0,
    };
    this.users.set(this.botUser.id, this.botUser);
    this.botToken =
      opts.botToken ?? `${Buffer.from(this.applicationId).toString('base64url')}.fake.${randomToken(20)}`;
    this.clientSecret = opts.clientSecret ?? randomToken(24);
  }

  addUser(opts: { username?: string; globalName?: string; id?: string; bot?: boolean; email?: string } = {}) {
    const id = opts.id ?? snowflake();
    const user: User = {
      id,
      username: opts.username ?? `user${id.slice(-6)}`,
      global_name: opts.globalName ?? null,
      discriminator: '0',
      avatar: null,
      bot: opts.bot ?? false,
      public_flags: 0,
      flags: 0,
      email: opts.email ?? null,
      verified: true,
      locale: 'en-US',
    };
    this.users.set(id, user);
    return user;
  }

  addGuild(opts: AddGuildOptions): SeededGuild {
    const id = opts.shard ? snowflakeOnShard(opts.shard[0], opts.shard[1]) : snowflake();
    const now = new Date().toISOString();
    const owner =
      opts.ownerId ?? this.addUser({ username: `${opts.name.toLowerCase().replace(/\W+/g, '')}-owner` }).id;
    const guild: Guild = {
      id,
      name: opts.name,
      owner_id: owner,
      joined_at: now,
      roles: new Map(),
      members: new Map(),
      channelIds: [],
      preferred_locale: 'en-US',
    };
    this.guilds.set(id, guild);
    const everyone = makeRole(
      id,
      '@everyone',
      String(opts.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS),
      0,
    );
    guild.roles.set(id, everyone);
    const roles: Record<string, string> = {};
    for (const [i, r] of (opts.roles ?? []).entries()) {
      const role = makeRole(snowflake(), r.name, r.permissions ?? '0', i + 1, r.color);
      guild.roles.set(role.id, role);
      roles[r.name] = role.id;
    }
    // The bot's managed role, like a real bot invite with permissions creates.
    const botRole = makeRole(
      snowflake(),
      this.botUser.username,
      String(opts.botPermissions ?? BOT_PERMISSIONS),
      guild.roles.size,
    );
    botRole.managed = true;
    guild.roles.set(botRole.id, botRole);
    this.addMember(id, this.botUser.id, [botRole.id]);
    this.addMember(id, owner);
    for (const m of opts.members ?? []) this.addMember(id, m);
    const channels: Record<string, string> = {};
    for (const c of opts.channels ?? []) {
      const parentId = c.parent ? channels[c.parent] : undefined;
      const channel = this.createChannel(id, {
        name: c.name,
        type: c.type ?? ChannelType.GuildText,
        parent_id: parentId ?? null,
        topic: c.topic ?? null,
        flags: c.flags ?? 0,
        permission_overwrites: c.permissionOverwrites ?? [],
        ...(c.tags
          ? {
              available_tags: c.tags.map((t) => ({
                id: snowflake(),
                name: t.name,
                moderated: t.moderated ?? false,
                emoji_id: null,
                emoji_name: null,
              })),
            }
          : {}),
      });
      channels[c.name] = channel.id;
    }
    return { id, everyoneRoleId: id, channels, roles, botRoleId: botRole.id };
  }

  addMember(guildId: string, userId: string, roles: string[] = []): Member {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`unknown guild ${guildId}`);
    const member: Member = {
      user_id: userId,
      nick: null,
      roles,
      joined_at: new Date().toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
    };
    guild.members.set(userId, member);
    return member;
  }

  createChannel(guildId: string, fields: Partial<Channel> & { name: string; type: number }): Channel {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`unknown guild ${guildId}`);
    const siblings = guild.channelIds.filter((cid) => this.channels.get(cid)?.type === fields.type);
    const channel: Channel = {
      id: snowflake(),
      guild_id: guildId,
      position: siblings.length,
      parent_id: null,
      permission_overwrites: [],
      topic: null,
      nsfw: false,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0,
      ...fields,
    };
    if (channel.type === ChannelType.GuildForum) {
      channel.available_tags ??= [];
      channel.default_reaction_emoji ??= null;
      channel.default_sort_order ??= null;
      channel.default_forum_layout ??= 0;
      channel.default_thread_rate_limit_per_user ??= 0;
    }
    this.channels.set(channel.id, channel);
    guild.channelIds.push(channel.id);
    this.messages.set(channel.id, new Map());
    return channel;
  }

  createThread(
    parent: Channel,
    fields: { name: string; type: number; ownerId: string; autoArchive?: number; invitable?: boolean },
    id: string = snowflake(),
  ): Channel {
    const now = new Date().toISOString();
    const thread: Channel = {
      id,
      type: fields.type,
      guild_id: parent.guild_id,
      name: fields.name,
      position: 0,
      parent_id: parent.id,
      permission_overwrites: [],
      topic: null,
      nsfw: parent.nsfw,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0,
      owner_id: fields.ownerId,
      message_count: 0,
      member_count: 0,
      total_message_sent: 0,
      thread_metadata: {
        archived: false,
        auto_archive_duration: fields.autoArchive ?? 4320,
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
        ...(fields.type === ChannelType.PrivateThread ? { invitable: fields.invitable ?? true } : {}),
      },
    };
    if (parent.type === ChannelType.GuildForum) thread.applied_tags = [];
    this.channels.set(thread.id, thread);
    this.messages.set(thread.id, new Map());
    this.threadMembers.set(thread.id, new Map());
    const guild = this.guilds.get(parent.guild_id);
    guild?.channelIds.push(thread.id);
    this.addThreadMember(thread.id, fields.ownerId);
    return thread;
  }

  addThreadMember(threadId: string, userId: string): boolean {
    const members = this.threadMembers.get(threadId);
    const thread = this.channels.get(threadId);
    if (!members || !thread) return false;
    if (!members.has(userId)) {
      members.set(userId, { join_timestamp: new Date().toISOString(), flags: 0 });
      thread.member_count = Math.min(50, members.size);
    }
    return true;
  }

  removeChannel(id: string): Channel | undefined {
    const channel = this.channels.get(id);
    if (!channel) return undefined;
    this.channels.delete(id);
    this.messages.delete(id);
    this.threadMembers.delete(id);
    const guild = this.guilds.get(channel.guild_id);
    if (guild) guild.channelIds = guild.channelIds.filter((c) => c !== id);
    // Threads go with their parent.
    for (const c of [...this.channels.values()])
      if (c.parent_id === id && c.thread_metadata) this.removeChannel(c.id);
    return channel;
  }

  /** The bot's DM channel with a user, made on first use (`POST /users/@me/channels`). */
  openDm(userId: string): Channel {
    for (const c of this.channels.values()) if (c.type === 1 && c.recipients?.[0] === userId) return c;
    const channel: Channel = {
      id: snowflake(),
      type: 1,
      guild_id: '',
      name: '',
      position: 0,
      parent_id: null,
      permission_overwrites: [],
      topic: null,
      nsfw: false,
      last_message_id: null,
      rate_limit_per_user: 0,
      flags: 0,
      recipients: [userId],
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** Guild channels that are not threads (what GUILD_CREATE lists under `channels`). */
  guildChannels(guildId: string): Channel[] {
    const guild = this.guilds.get(guildId);
    if (!guild) return [];
    return guild.channelIds
      .map((id) => this.channels.get(id))
      .filter((c): c is Channel => !!c && !c.thread_metadata);
  }

  guildThreads(guildId: string): Channel[] {
    const guild = this.guilds.get(guildId);
    if (!guild) return [];
    return guild.channelIds
      .map((id) => this.channels.get(id))
      .filter((c): c is Channel => !!c && !!c.thread_metadata && !c.thread_metadata.archived);
  }

  addMessage(channel: Channel, fields: Partial<Message> & { author: User }): Message {
    const id = snowflake();
    const message: Message = {
      id,
      channel_id: channel.id,
      guild_id: channel.guild_id,
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      type: 0,
      flags: 0,
      ...fields,
    };
    if (channel.thread_metadata) {
      message.position = channel.total_message_sent ?? 0;
      channel.message_count = (channel.message_count ?? 0) + 1;
      channel.total_message_sent = (channel.total_message_sent ?? 0) + 1;
    }
    // A forum post's starter message passes its own id (the thread's), so key on message.id.
    channel.last_message_id = message.id;
    let store = this.messages.get(channel.id);
    if (!store) {
      store = new Map();
      this.messages.set(channel.id, store);
    }
    store.set(message.id, message);
    return message;
  }

  // --- API shapes --------------------------------------------------------------------------------

  userPayload(user: User): Json {
    const { email: _e, verified: _v, locale: _l, ...pub } = user;
    return { ...pub, avatar_decoration_data: null, banner: null, accent_color: null };
  }

  memberPayload(guildId: string, userId: string): Json | null {
    const member = this.guilds.get(guildId)?.members.get(userId);
    const user = this.users.get(userId);
    if (!member || !user) return null;
    const { user_id: _u, ...rest } = member;
    return {
      ...rest,
      user: this.userPayload(user),
      avatar: null,
      banner: null,
      premium_since: null,
      communication_disabled_until: null,
    };
  }

  /** A member as it appears in interactions: with its permissions in the interaction's channel. */
  interactionMemberPayload(guildId: string, userId: string, channelId?: string): Json | null {
    const member = this.memberPayload(guildId, userId);
    if (!member) return null;
    return { ...member, permissions: this.permissionsIn(guildId, userId, channelId) };
  }

  /** A member's permissions in a channel (overwrites applied), or at guild level without one. */
  permissionsIn(guildId: string, userId: string, channelId?: string): string {
    const channel = channelId ? this.channels.get(channelId) : undefined;
    if (!channel || channel.guild_id !== guildId) return this.memberPermissions(guildId, userId);
    return channelPermissions(this, channel, userId).toString();
  }

  memberPermissions(guildId: string, userId: string): string {
    const guild = this.guilds.get(guildId);
    if (!guild) return '0';
    if (guild.owner_id === userId) return ALL_PERMISSIONS;
    let perms = BigInt(guild.roles.get(guildId)?.permissions ?? '0');
    for (const r of guild.members.get(userId)?.roles ?? [])
      perms |= BigInt(guild.roles.get(r)?.permissions ?? '0');
    if (perms & 8n) return ALL_PERMISSIONS;
    return perms.toString();
  }

  channelPayload(channel: Channel): Json {
    if (channel.type !== 1) return { ...channel };
    // A DM as Discord shows it: no guild, no name, the other user.
    return {
      id: channel.id,
      type: 1,
      last_message_id: channel.last_message_id,
      flags: 0,
      recipients: (channel.recipients ?? []).flatMap((id) => {
        const u = this.users.get(id);
        return u ? [this.userPayload(u)] : [];
      }),
    };
  }

  messagePayload(message: Message): Json {
    const { guild_id, ...rest } = message;
    return { ...rest, ...(guild_id ? { guild_id } : {}), author: this.userPayload(message.author) };
  }

  guildPayload(guildId: string): Json {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`unknown guild ${guildId}`);
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.owner_id,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [...guild.roles.values()].map((r) => ({ ...r })),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_presences: null,
      max_members: 500000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: guild.preferred_locale,
      public_updates_channel_id: null,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      incidents_data: null,
    };
  }

  /** The GUILD_CREATE payload: the guild plus what only the gateway sends. */
  guildCreatePayload(guildId: string): Json {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`unknown guild ${guildId}`);
    const members = [...guild.members.keys()]
      .map((uid) => this.memberPayload(guildId, uid))
      .filter((m): m is Json => m !== null);
    return {
      ...this.guildPayload(guildId),
      joined_at: guild.joined_at,
      large: false,
      unavailable: false,
      member_count: guild.members.size,
      voice_states: [],
      members,
      channels: this.guildChannels(guildId).map((c) => this.channelPayload(c)),
      threads: this.guildThreads(guildId).map((c) => this.channelPayload(c)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      embedded_activities: [],
    };
  }
}

function makeRole(id: string, name: string, permissions: string, position: number, color = 0): Role {
  return {
    id,
    name,
    color,
    colors: { primary_color: color, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions,
    managed: false,
    mentionable: false,
    flags: 0,
  };
}
