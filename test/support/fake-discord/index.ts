import type { Server } from 'node:http';
import type { FakeContext, FakeDiscordOptions, ResolvedOptions } from './context.js';
import { type FaultMatcher, Faults } from './faults.js';
import { Gateway, type SessionStart } from './gateway.js';
import { type InteractionHandle, type InteractionInput, Interactions } from './interactions.js';
import { type FrameRecord, type RequestMatcher, type RequestRecord, TrafficLog } from './log.js';
import { OAuth2 } from './oauth2.js';
import { channelRoutes, deleteChannel } from './rest/channels.js';
import { commandRoutes } from './rest/commands.js';
import { mentionsIn } from './rest/common.js';
import { guildRoutes } from './rest/guilds.js';
import { interactionRoutes } from './rest/interactions.js';
import { messageRoutes } from './rest/messages.js';
import { miscRoutes } from './rest/misc.js';
import { permissionRoutes } from './rest/permissions.js';
import { threadRoutes } from './rest/threads.js';
import { webhookRoutes } from './rest/webhooks.js';
import { Router } from './router.js';
import { createFakeServer, listen } from './server.js';
import {
  type AddGuildOptions,
  type Channel,
  ChannelType,
  DiscordState,
  type SeededGuild,
  type User,
} from './state.js';

export type { FakeDiscordOptions } from './context.js';
export type { FaultMatcher } from './faults.js';
export type { SessionStart } from './gateway.js';
export type {
  InteractionCallbackRecord,
  InteractionHandle,
  InteractionInput,
  OptionInput,
} from './interactions.js';
export { LIMITS } from './limits.js';
export type { FrameRecord, RequestMatcher, RequestRecord } from './log.js';
export { apiPath } from './log.js';
export { shardOf, snowflake } from './snowflake.js';

import { snowflake } from './snowflake.js';

export { Perm } from './access.js';
export type { AddGuildOptions, Channel, SeededGuild, User } from './state.js';
export { ChannelType, READ_ONLY_EVERYONE } from './state.js';

/** A loopback Discord: REST under `/api/v10`, the gateway at `/gateway`, OAuth2, and a traffic log. */
export class FakeDiscord {
  /** `http://127.0.0.1:PORT`; point discord.js at `${url}/api`. */
  url = '';
  readonly state: DiscordState;
  readonly log = new TrafficLog();
  readonly faults = new Faults();
  readonly gateway: Gateway;
  readonly interactions: Interactions;
  readonly oauth2: OAuth2;
  readonly options: ResolvedOptions;
  /** Attachment files by path, served under `/cdn/` like Discord's CDN. */
  readonly cdn = new Map<string, { body: Buffer; contentType: string }>();
  private readonly server: Server;

  constructor(opts: FakeDiscordOptions = {}) {
    this.state = new DiscordState(opts);
    this.options = {
      shards: opts.shards ?? 1,
      sessionStartLimit: {
        total: 1000,
        remaining: 1000,
        reset_after: 86_400_000,
        max_concurrency: 1,
        ...opts.sessionStartLimit,
      },
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41_250,
      interactionDeadlineMs: opts.interactionDeadlineMs ?? 3000,
      interactionTokenLifetimeMs: opts.interactionTokenLifetimeMs ?? 15 * 60 * 1000,
      redirectUris: opts.redirectUris ?? [],
      enforceIdentifyRateLimit: opts.enforceIdentifyRateLimit ?? false,
      messageContentIntent: opts.messageContentIntent ?? true,
    };
    this.faults.globalPerSecond = opts.globalRateLimit ?? 0;
    // The context is filled in below; route handlers only read it once requests arrive.
    const ctx = {
      state: this.state,
      log: this.log,
      faults: this.faults,
      options: this.options,
      cdn: this.cdn,
    } as FakeContext;
    ctx.baseUrl = () => this.url;
    this.gateway = new Gateway(ctx);
    this.interactions = new Interactions(ctx);
    this.oauth2 = new OAuth2(ctx);
    Object.assign(ctx, { gateway: this.gateway, interactions: this.interactions, oauth2: this.oauth2 });
    const router = new Router();
    router.add([
      ...miscRoutes,
      ...this.oauth2.routes(),
      ...messageRoutes,
      ...threadRoutes,
      ...channelRoutes,
      ...permissionRoutes,
      ...guildRoutes,
      ...webhookRoutes,
      ...interactionRoutes,
      ...commandRoutes,
    ]);
    this.server = createFakeServer(ctx, router);
    this.gateway.attach(this.server);
  }

  async listen(): Promise<this> {
    const port = await listen(this.server);
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  get applicationId(): string {
    return this.state.applicationId;
  }

  get botToken(): string {
    return this.state.botToken;
  }

  get botUser(): User {
    return this.state.botUser;
  }

  get clientSecret(): string {
    return this.state.clientSecret;
  }

  // --- seeding -----------------------------------------------------------------------------------

  addGuild(opts: AddGuildOptions): SeededGuild {
    const seeded = this.state.addGuild(opts);
    // A guild added while shards are connected arrives like a new join.
    this.gateway.dispatch(seeded.id, 'GUILD_CREATE', this.state.guildCreatePayload(seeded.id));
    return seeded;
  }

  addUser(opts: Parameters<DiscordState['addUser']>[0] = {}): User {
    return this.state.addUser(opts);
  }

  addMember(guildId: string, userId: string, roles: string[] = []): void {
    this.state.addMember(guildId, userId, roles);
  }

  /**
   * The person leaves the server (or is kicked or banned): their member object is gone, so Discord
   * answers 404 Unknown Member for it (Unknown Guild on their own `/users/@me/guilds/{id}/member`).
   * Discord sends GUILD_MEMBER_REMOVE only to bots with the privileged GuildMembers intent, which
   * the bot does not ask for, so nothing is dispatched.
   */
  removeMember(guildId: string, userId: string): void {
    if (!this.state.guilds.get(guildId)?.members.delete(userId))
      throw new Error(`${userId} is not in ${guildId}`);
  }

  /**
   * Sets a role's permissions as an admin would in the server settings (GUILD_ROLE_UPDATE), or
   * changes them with a function of the current ones.
   */
  setRolePermissions(guildId: string, roleId: string, perms: bigint | ((current: bigint) => bigint)): void {
    const role = this.state.guilds.get(guildId)?.roles.get(roleId);
    if (!role) throw new Error(`unknown role ${roleId}`);
    const next = typeof perms === 'function' ? perms(BigInt(role.permissions)) : perms;
    role.permissions = next.toString();
    this.gateway.dispatch(guildId, 'GUILD_ROLE_UPDATE', { guild_id: guildId, role: { ...role } });
  }

  /** The bot's managed role's permissions, set or changed (e.g. `(p) => p & ~ManageThreads`). */
  setBotPermissions(guildId: string, perms: bigint | ((current: bigint) => bigint)): void {
    const guild = this.state.guilds.get(guildId);
    const roleId = [...(guild?.roles.values() ?? [])].find((r) => r.managed)?.id;
    if (!roleId) throw new Error(`no bot role in guild ${guildId}`);
    this.setRolePermissions(guildId, roleId, perms);
  }

  /** Changes a channel as a moderator would (overwrites, flags, forum tags): CHANNEL_UPDATE. */
  updateChannel(channelId: string, patch: Partial<Channel>): void {
    const channel = this.state.channels.get(channelId);
    if (!channel) throw new Error(`unknown channel ${channelId}`);
    Object.assign(channel, patch);
    this.gateway.dispatch(
      channel.guild_id,
      channel.thread_metadata ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE',
      this.state.channelPayload(channel),
    );
  }

  /** A message from a user (not the bot), dispatched as MESSAGE_CREATE. */
  userMessage(
    channelId: string,
    userId: string,
    content: string,
    opts: {
      /** Files served by the fake's CDN: `data`, or `size` bytes of a repeating pattern. */
      attachments?: { filename: string; size?: number; contentType?: string; data?: Buffer }[];
      /**
       * The id of a message in the same channel this one answers (Discord's Reply): type 19 with
       * `message_reference` and the `referenced_message`, as Discord sends it.
       */
      replyTo?: string;
    } = {},
  ) {
    const channel = this.state.channels.get(channelId);
    const user = this.state.users.get(userId);
    if (!channel || !user) throw new Error('unknown channel or user');
    // Discord's client only replies to a message it shows in that channel.
    const referenced = opts.replyTo ? this.state.messages.get(channelId)?.get(opts.replyTo) : undefined;
    if (opts.replyTo && !referenced) throw new Error(`unknown message ${opts.replyTo} in ${channelId}`);
    const attachments = (opts.attachments ?? []).map((a) => {
      const id = snowflake();
      const body = a.data ?? Buffer.alloc(a.size ?? 0, 'gamemod ');
      const contentType = a.contentType ?? 'application/octet-stream';
      const path = `/cdn/attachments/${channelId}/${id}/${encodeURIComponent(a.filename)}`;
      this.cdn.set(path, { body, contentType });
      return {
        id,
        filename: a.filename,
        size: body.length,
        content_type: contentType,
        url: `${this.url}${path}`,
        proxy_url: `${this.url}${path}`,
      };
    });
    const message = this.state.addMessage(channel, {
      author: user,
      content,
      attachments,
      ...mentionsIn({ state: this.state } as FakeContext, content),
      ...(referenced
        ? {
            type: 19,
            message_reference: {
              type: 0,
              message_id: referenced.id,
              channel_id: channelId,
              ...(channel.guild_id ? { guild_id: channel.guild_id } : {}),
            },
          }
        : {}),
    });
    const member = channel.guild_id ? this.state.memberPayload(channel.guild_id, userId) : null;
    // The gateway's MESSAGE_CREATE also says the channel's type (discord.js needs it to make a
    // DM channel it has not cached).
    this.gateway.dispatch(channel.guild_id || null, 'MESSAGE_CREATE', {
      ...this.state.messagePayload(message),
      ...(referenced ? { referenced_message: this.state.messagePayload(referenced) } : {}),
      channel_type: channel.type,
      ...(member ? { member: { ...member, user: undefined } } : {}),
    });
    return message;
  }

  /**
   * A direct message from a user to the bot, in their DM channel (made on first use), dispatched
   * as Discord does: MESSAGE_CREATE without guild_id or member, to shard 0, needing DirectMessages.
   */
  userDm(userId: string, content: string, opts: Parameters<FakeDiscord['userMessage']>[3] = {}) {
    return this.userMessage(this.state.openDm(userId).id, userId, content, opts);
  }

  /** The reactions the bot put on a message (`PUT .../reactions/{emoji}/@me`). */
  botReactions(channelId: string, messageId: string): string[] {
    return [...(this.state.botReactions.get(`${channelId}/${messageId}`) ?? [])];
  }

  /** A user edits their message: MESSAGE_UPDATE with the new content. */
  userEdit(channelId: string, messageId: string, content: string) {
    const message = this.state.messages.get(channelId)?.get(messageId);
    if (!message) throw new Error(`unknown message ${messageId}`);
    message.content = content;
    message.edited_timestamp = new Date().toISOString();
    this.gateway.dispatch(message.guild_id ?? null, 'MESSAGE_UPDATE', this.state.messagePayload(message));
    return message;
  }

  /**
   * A member starts a public thread in a text channel (as from the channel's "Create Thread"):
   * THREAD_CREATE with `newly_created`, the member its owner and first member, as Discord sends it.
   */
  userThread(parentId: string, userId: string, name: string): Channel {
    const parent = this.state.channels.get(parentId);
    if (!parent || !this.state.users.get(userId)) throw new Error('unknown channel or user');
    const thread = this.state.createThread(parent, { name, type: ChannelType.PublicThread, ownerId: userId });
    this.gateway.dispatch(parent.guild_id, 'THREAD_CREATE', {
      ...this.state.channelPayload(thread),
      newly_created: true,
    });
    return thread;
  }

  /** A user (or moderator) deletes a message: MESSAGE_DELETE with ids only, as Discord sends it. */
  userDelete(channelId: string, messageId: string): void {
    const store = this.state.messages.get(channelId);
    const message = store?.get(messageId);
    if (!message || !store) throw new Error(`unknown message ${messageId}`);
    store.delete(messageId);
    this.gateway.dispatch(message.guild_id ?? null, 'MESSAGE_DELETE', {
      id: messageId,
      channel_id: channelId,
      ...(message.guild_id ? { guild_id: message.guild_id } : {}),
    });
  }

  // --- gateway -----------------------------------------------------------------------------------

  /** Sends a dispatch to the shard owning `guildId` (shard 0 for null). Returns sessions reached. */
  dispatch(guildId: string | null, event: string, data: unknown): number {
    return this.gateway.dispatch(guildId, event, data);
  }

  reconnectShard(shardId: number): void {
    this.gateway.reconnectShard(shardId);
  }

  /** Makes the gateway unreachable (connections cut, reconnects refused) until `restoreGateway`. */
  cutGateway(): void {
    this.gateway.cutGateway();
  }

  restoreGateway(): void {
    this.gateway.restoreGateway();
  }

  invalidateSession(shardId: number, resumable: boolean): void {
    this.gateway.invalidateSession(shardId, resumable);
  }

  get sessionStarts(): readonly SessionStart[] {
    return this.gateway.sessionStarts;
  }

  /** Gateway frames, optionally for one shard and direction. */
  frames(
    filter: { shardId?: number; direction?: 'in' | 'out'; op?: number; t?: string } = {},
  ): FrameRecord[] {
    return this.log.frames.filter(
      (f) =>
        (filter.shardId === undefined || f.shardId === filter.shardId) &&
        (filter.direction === undefined || f.direction === filter.direction) &&
        (filter.op === undefined || f.op === filter.op) &&
        (filter.t === undefined || f.t === filter.t),
    );
  }

  waitForFrame(match: (f: FrameRecord) => boolean, timeoutMs = 5000): Promise<FrameRecord> {
    return this.log.waitForFrame(match, timeoutMs);
  }

  // --- interactions ------------------------------------------------------------------------------

  sendInteraction(input: InteractionInput): InteractionHandle {
    return this.interactions.send(input);
  }

  /**
   * Delivers the very same INTERACTION_CREATE again (same id and token), as a gateway replay
   * after a resume can. Discord refuses a second callback for it with 40060.
   */
  replayInteraction(handle: InteractionHandle): void {
    this.gateway.dispatch(handle.record.guildId, 'INTERACTION_CREATE', handle.payload);
  }

  // --- REST log and faults -----------------------------------------------------------------------

  requests(match: RequestMatcher = {}): RequestRecord[] {
    return this.log.find(match);
  }

  waitForRequest(match: RequestMatcher, timeoutMs = 5000): Promise<RequestRecord> {
    return this.log.waitForRequest(match, timeoutMs);
  }

  rateLimitNext(
    match: FaultMatcher,
    retryAfterSeconds: number,
    opts: { global?: boolean; count?: number; bucket?: string } = {},
  ): void {
    this.faults.rateLimitNext(match, retryAfterSeconds, opts);
  }

  failNext(match: FaultMatcher, status = 500, opts: { count?: number } = {}): void {
    this.faults.failNext(match, status, opts);
  }

  /** Carries out the next matching request, then drops the connection instead of answering. */
  loseAnswerNext(match: FaultMatcher, opts: { count?: number } = {}): void {
    this.faults.loseAnswerNext(match, opts);
  }

  /** Drops every injected fault not yet used. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Deletes a channel (and its threads) as if a moderator did, dispatching CHANNEL_DELETE. */
  deleteChannel(id: string): void {
    const channel = this.state.channels.get(id);
    if (channel) deleteChannel({ state: this.state, gateway: this.gateway } as FakeContext, channel);
  }

  async close(): Promise<void> {
    this.interactions.close();
    await this.gateway.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** Starts a fake Discord on 127.0.0.1 with an ephemeral port. */
export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  return new FakeDiscord(opts).listen();
}
