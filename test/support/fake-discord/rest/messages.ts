import { channelPermissions, Perm, requireBot, sendBit } from '../access.js';
import { apiError, Errors, type FakeContext, noContent, ok, type RestReply, type Route } from '../context.js';
import type { MessageBody } from '../limits.js';
import { type Channel, ChannelType, MESSAGE_CHANNEL_TYPES, type Message } from '../state.js';
import {
  attachmentsFrom,
  dispatchChannelUpdate,
  editMessage,
  isReply,
  messageChannel,
  messageFields,
  parseMessage,
  postMessage,
} from './common.js';

/** Sending into an archived thread reopens it unless it is locked, as on Discord. */
export function ensureWritable(fake: FakeContext, channel: Channel): RestReply | null {
  if (!MESSAGE_CHANNEL_TYPES.has(channel.type)) return Errors.nonTextChannel();
  const meta = channel.thread_metadata;
  if (meta?.archived) {
    if (meta.locked) return Errors.threadArchived();
    meta.archived = false;
    meta.archive_timestamp = new Date().toISOString();
    dispatchChannelUpdate(fake, channel);
  }
  return null;
}

/**
 * How long an enforced nonce is remembered. Discord says "the past few minutes" without a
 * figure; the fake takes two, the stricter reading for a client that retries.
 */
export const NONCE_WINDOW_MS = 2 * 60_000;

/**
 * With `enforce_nonce`, a post whose nonce the same author used within the window answers with
 * that message (still there) and creates none: a retried post whose answer was lost lands once.
 */
function postedWithNonce(fake: FakeContext, key: string): Message | null {
  const seen = fake.state.nonces.get(key);
  if (!seen || Date.now() - seen.at > NONCE_WINDOW_MS) return null;
  return fake.state.messages.get(seen.channelId)?.get(seen.messageId) ?? null;
}

/** A unicode emoji (no ASCII letters or digits) or a custom one as `name:id`. */
const EMOJI = /^(?:[^\p{ASCII}]+|\w{2,32}:\d{17,20})$/u;

export const messageRoutes: Route[] = [
  {
    method: 'PUT',
    template: '/channels/:channel_id/messages/:message_id/reactions/:emoji/@me',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      // Reacting takes Read Message History, and Add Reactions for a reaction nobody made yet.
      const refused = requireBot(
        fake.state,
        channel,
        Perm.ViewChannel | Perm.ReadMessageHistory | Perm.AddReactions,
      );
      if (refused) return refused;
      const id = req.params['message_id'] ?? '';
      if (!fake.state.messages.get(channel.id)?.get(id)) return Errors.unknownMessage();
      const emoji = req.params['emoji'] ?? '';
      if (!EMOJI.test(emoji)) return apiError(400, 10014, 'Unknown Emoji');
      const key = `${channel.id}/${id}`;
      const set = fake.state.botReactions.get(key) ?? new Set<string>();
      set.add(emoji);
      fake.state.botReactions.set(key, set);
      return noContent();
    },
  },
  {
    method: 'GET',
    template: '/channels/:channel_id/messages',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const refused = requireBot(fake.state, channel, Perm.ViewChannel);
      if (refused) return refused;
      // Without Read Message History, Discord answers with no messages rather than an error.
      if (!(channelPermissions(fake.state, channel, fake.state.botUser.id) & Perm.ReadMessageHistory))
        return ok([]);
      const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? 50)));
      const before = req.query.get('before');
      const after = req.query.get('after');
      let list = [...(fake.state.messages.get(channel.id)?.values() ?? [])].sort((a, b) =>
        BigInt(a.id) < BigInt(b.id) ? 1 : -1,
      );
      if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
      if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after));
      return ok(list.slice(0, limit).map((m) => fake.state.messagePayload(m)));
    },
  },
  {
    method: 'POST',
    template: '/channels/:channel_id/messages',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const parsed = parseMessage(req);
      if (!parsed.ok) return parsed.reply;
      const ref = parsed.data.message_reference as { message_id?: string } | undefined;
      if (channel.type === 1) {
        // A DM reaches a user who shares a server with the bot and has not turned DMs off.
        const to = channel.recipients?.[0] ?? '';
        const shared = [...fake.state.guilds.values()].some(
          (g) => g.members.has(to) && g.members.has(fake.state.botUser.id),
        );
        if (!shared || fake.state.dmsClosed.has(to)) return Errors.cannotMessageUser();
      }
      const denied = requireBot(
        fake.state,
        channel,
        sendBit(channel) | contentBits(parsed.data, req.files.length) | (ref ? Perm.ReadMessageHistory : 0n),
      );
      if (denied) return denied;
      const refused = ensureWritable(fake, channel);
      if (refused) return refused;
      const { nonce, enforce_nonce } = parsed.data;
      const nonceKey = enforce_nonce && nonce !== undefined ? `${fake.state.botUser.id}:${nonce}` : null;
      const earlier = nonceKey ? postedWithNonce(fake, nonceKey) : null;
      if (earlier) return ok(fake.state.messagePayload(earlier));
      const fields = messageFields(parsed.data);
      const message = postMessage(fake, channel, fake.state.botUser, {
        ...fields,
        ...(nonce !== undefined ? { nonce } : {}),
        attachments: attachmentsFrom(req, channel.id),
        ...(ref?.message_id
          ? { type: 19, message_reference: { message_id: ref.message_id, channel_id: channel.id } }
          : {}),
      });
      if (nonceKey)
        fake.state.nonces.set(nonceKey, { channelId: channel.id, messageId: message.id, at: Date.now() });
      if (channel.type === ChannelType.PrivateThread)
        addMentionedToPrivateThread(fake, channel, message, parsed.data);
      return ok(fake.state.messagePayload(message));
    },
  },
  {
    method: 'GET',
    template: '/channels/:channel_id/messages/:message_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const refused = requireBot(fake.state, channel, Perm.ViewChannel | Perm.ReadMessageHistory);
      if (refused) return refused;
      const message = fake.state.messages.get(channel.id)?.get(req.params['message_id'] ?? '');
      return message ? ok(fake.state.messagePayload(message)) : Errors.unknownMessage();
    },
  },
  {
    method: 'PATCH',
    template: '/channels/:channel_id/messages/:message_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const message = fake.state.messages.get(channel.id)?.get(req.params['message_id'] ?? '');
      if (!message) return Errors.unknownMessage();
      if (message.author.id !== fake.state.botUser.id) return Errors.editOthersMessage();
      const parsed = parseMessage(req, { allowEmpty: true });
      if (!parsed.ok) return parsed.reply;
      const refused = requireBot(
        fake.state,
        channel,
        Perm.ViewChannel | contentBits(parsed.data, req.files.length),
      );
      if (refused) return refused;
      const edited = editMessage(fake, message, messageFields(parsed.data));
      return ok(fake.state.messagePayload(edited));
    },
  },
  {
    method: 'DELETE',
    template: '/channels/:channel_id/messages/:message_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      const store = fake.state.messages.get(channel.id);
      const id = req.params['message_id'] ?? '';
      const target = store?.get(id);
      // Deleting someone else's message takes Manage Messages.
      const refused = requireBot(
        fake.state,
        channel,
        Perm.ViewChannel | (target && target.author.id !== fake.state.botUser.id ? Perm.ManageMessages : 0n),
      );
      if (refused) return refused;
      if (!store?.delete(id)) return Errors.unknownMessage();
      fake.gateway.dispatch(channel.guild_id, 'MESSAGE_DELETE', {
        id,
        channel_id: channel.id,
        guild_id: channel.guild_id,
      });
      return noContent();
    },
  },
];

/**
 * In a private thread, a mention that pings (allowed_mentions permitting) adds the mentioned
 * users, and the members of mentioned roles, to the thread, as Discord does.
 */
function addMentionedToPrivateThread(
  fake: FakeContext,
  thread: Channel,
  message: Message,
  body: MessageBody,
): void {
  const allowed = (body.allowed_mentions ?? { parse: ['users', 'roles'] }) as {
    parse?: string[];
    users?: string[];
    roles?: string[];
  };
  const guild = fake.state.guilds.get(thread.guild_id);
  if (!guild) return;
  const userIds = (message.mentions as { id: string }[])
    .map((u) => u.id)
    .filter((id) => allowed.parse?.includes('users') || allowed.users?.includes(id));
  // A role that is not mentionable pings only for an author with Mention Everyone.
  const mentionAll =
    (channelPermissions(fake.state, thread, fake.state.botUser.id) & Perm.MentionEveryone) !== 0n;
  const roleIds = message.mention_roles.filter(
    (id) =>
      (allowed.parse?.includes('roles') || allowed.roles?.includes(id)) &&
      (mentionAll || guild.roles.get(id)?.mentionable === true),
  );
  for (const [uid, m] of guild.members) if (m.roles.some((r) => roleIds.includes(r))) userIds.push(uid);
  const added: string[] = [];
  for (const uid of new Set(userIds)) {
    if (!guild.members.has(uid) || fake.state.threadMembers.get(thread.id)?.has(uid)) continue;
    fake.state.addThreadMember(thread.id, uid);
    added.push(uid);
  }
  if (added.length) {
    fake.gateway.dispatch(thread.guild_id, 'THREAD_MEMBERS_UPDATE', {
      id: thread.id,
      guild_id: thread.guild_id,
      member_count: thread.member_count,
      added_members: added.map((uid) => ({
        id: thread.id,
        user_id: uid,
        ...fake.state.threadMembers.get(thread.id)?.get(uid),
        member: fake.state.memberPayload(thread.guild_id, uid),
      })),
    });
  }
}

/** Embeds need Embed Links and files Attach Files, or Discord refuses the message. */
export function contentBits(m: MessageBody, files: number): bigint {
  return (m.embeds && m.embeds.length > 0 ? Perm.EmbedLinks : 0n) | (files > 0 ? Perm.AttachFiles : 0n);
}
