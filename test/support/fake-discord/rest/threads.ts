import { channelPermissions, Perm, requireBot } from '../access.js';
import { apiError, Errors, type FakeContext, noContent, ok, type RestReply, type Route } from '../context.js';
import { threadCreateSchema } from '../limits.js';
import { type Channel, ChannelType } from '../state.js';
import {
  attachmentsFrom,
  isReply,
  memberLite,
  messageChannel,
  messageFields,
  parse,
  parseMessage,
} from './common.js';
import { contentBits } from './messages.js';

function dispatchThreadCreate(fake: FakeContext, thread: Channel): void {
  fake.gateway.dispatch(thread.guild_id, 'THREAD_CREATE', {
    ...fake.state.channelPayload(thread),
    newly_created: true,
  });
}

function threadMemberPayload(fake: FakeContext, thread: Channel, userId: string, withMember: boolean) {
  const tm = fake.state.threadMembers.get(thread.id)?.get(userId);
  if (!tm) return null;
  const member = withMember ? fake.state.memberPayload(thread.guild_id, userId) : null;
  return { id: thread.id, user_id: userId, ...tm, ...(member ? { member } : {}) };
}

/** The thread-member objects of the bot for `threads` (Discord's `members` beside a thread list). */
function botMemberships(fake: FakeContext, threads: Channel[]) {
  return threads.flatMap((t) => threadMemberPayload(fake, t, fake.state.botUser.id, false) ?? []);
}

export const threadRoutes: Route[] = [
  {
    method: 'GET',
    template: '/guilds/:guild_id/threads/active',
    auth: 'bot',
    handler: (req, fake) => {
      const guildId = req.params['guild_id'] ?? '';
      const guild = fake.state.guilds.get(guildId);
      if (!guild || !guild.members.has(fake.state.botUser.id)) return Errors.unknownGuild();
      // Every active thread the bot can see (a private one only as a member or with Manage
      // Threads), newest first.
      const threads = fake.state
        .guildThreads(guildId)
        .filter((t) => channelPermissions(fake.state, t, fake.state.botUser.id) & Perm.ViewChannel)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? 1 : -1));
      return ok({
        threads: threads.map((t) => fake.state.channelPayload(t)),
        members: botMemberships(fake, threads),
      });
    },
  },
  {
    method: 'GET',
    template: '/channels/:channel_id/threads/archived/public',
    auth: 'bot',
    handler: (req, fake) => {
      const parent = messageChannel(fake, req.params['channel_id']);
      if (isReply(parent)) return parent;
      const kinds: number[] = [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.GuildForum];
      if (!kinds.includes(parent.type)) return Errors.wrongChannelType();
      const denied = requireBot(fake.state, parent, Perm.ReadMessageHistory);
      if (denied) return denied;
      const limit = Number(req.query.get('limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 2 || limit > 100)
        return Errors.invalidFormBody({
          limit: { _errors: [{ code: 'NUMBER_TYPE_MIN', message: 'limit must be between 2 and 100' }] },
        });
      const before = req.query.get('before');
      const at = (t: Channel) => Date.parse(t.thread_metadata?.archive_timestamp ?? '');
      const archived = [...fake.state.channels.values()]
        .filter(
          (t) =>
            t.parent_id === parent.id &&
            t.thread_metadata?.archived &&
            t.type !== ChannelType.PrivateThread &&
            (!before || at(t) < Date.parse(before)),
        )
        .sort((a, b) => at(b) - at(a));
      const threads = archived.slice(0, limit);
      return ok({
        threads: threads.map((t) => fake.state.channelPayload(t)),
        members: botMemberships(fake, threads),
        has_more: archived.length > limit,
      });
    },
  },
  {
    method: 'POST',
    template: '/channels/:channel_id/threads',
    auth: 'bot',
    handler: (req, fake) => {
      const parent = messageChannel(fake, req.params['channel_id']);
      if (isReply(parent)) return parent;
      const parsed = parse(threadCreateSchema, req.body);
      if (!parsed.ok) return parsed.reply;
      const body = parsed.data;
      const isForum = parent.type === ChannelType.GuildForum || parent.type === 16;
      if (isForum) {
        if (!body.message) {
          return Errors.invalidFormBody({
            message: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] },
          });
        }
        const msg = parseMessage({ ...req, body: body.message });
        if (!msg.ok) {
          return isReplyWithErrors(msg.reply)
            ? Errors.invalidFormBody({ message: msg.reply.body.errors })
            : msg.reply;
        }
        // Creating a post is sending a message in the forum.
        const denied = requireBot(
          fake.state,
          parent,
          Perm.SendMessages | contentBits(msg.data, req.files.length),
        );
        if (denied) return denied;
        const tagRefusal = checkTags(fake, parent, body.applied_tags ?? []);
        if (tagRefusal) return tagRefusal;
        const thread = fake.state.createThread(parent, {
          name: body.name,
          type: ChannelType.PublicThread,
          ownerId: fake.state.botUser.id,
          ...(body.auto_archive_duration ? { autoArchive: body.auto_archive_duration } : {}),
        });
        if (body.applied_tags) thread.applied_tags = body.applied_tags;
        if (body.rate_limit_per_user) thread.rate_limit_per_user = body.rate_limit_per_user;
        dispatchThreadCreate(fake, thread);
        // The starter message of a forum post shares the thread's id.
        const message = fake.state.addMessage(thread, {
          ...messageFields(msg.data),
          attachments: attachmentsFrom(req, thread.id),
          author: fake.state.botUser,
          id: thread.id,
        });
        fake.gateway.dispatch(thread.guild_id, 'MESSAGE_CREATE', {
          ...fake.state.messagePayload(message),
          member: memberLite(fake, thread.guild_id, fake.state.botUser.id),
        });
        return ok(
          {
            ...fake.state.channelPayload(thread),
            message: fake.state.messagePayload(message),
            member: threadMemberPayload(fake, thread, fake.state.botUser.id, false),
          },
          201,
        );
      }
      if (parent.type !== ChannelType.GuildText && parent.type !== ChannelType.GuildAnnouncement) {
        return Errors.wrongChannelType();
      }
      const type = body.type ?? ChannelType.PrivateThread;
      const denied = requireBot(
        fake.state,
        parent,
        type === ChannelType.PrivateThread ? Perm.CreatePrivateThreads : Perm.CreatePublicThreads,
      );
      if (denied) return denied;
      if (type === ChannelType.AnnouncementThread && parent.type !== ChannelType.GuildAnnouncement) {
        return Errors.invalidFormBody({
          type: { _errors: [{ code: 'BASE_TYPE_CHOICES', message: 'Value must be one of {11, 12}.' }] },
        });
      }
      const thread = fake.state.createThread(parent, {
        name: body.name,
        type,
        ownerId: fake.state.botUser.id,
        ...(body.auto_archive_duration ? { autoArchive: body.auto_archive_duration } : {}),
        ...(body.invitable !== undefined ? { invitable: body.invitable } : {}),
      });
      if (body.rate_limit_per_user) thread.rate_limit_per_user = body.rate_limit_per_user;
      dispatchThreadCreate(fake, thread);
      return ok(fake.state.channelPayload(thread), 201);
    },
  },
  {
    method: 'POST',
    template: '/channels/:channel_id/messages/:message_id/threads',
    auth: 'bot',
    handler: (req, fake) => {
      const parent = messageChannel(fake, req.params['channel_id']);
      if (isReply(parent)) return parent;
      const denied = requireBot(fake.state, parent, Perm.CreatePublicThreads | Perm.ReadMessageHistory);
      if (denied) return denied;
      const message = fake.state.messages.get(parent.id)?.get(req.params['message_id'] ?? '');
      if (!message) return Errors.unknownMessage();
      if (parent.type !== ChannelType.GuildText && parent.type !== ChannelType.GuildAnnouncement) {
        return Errors.wrongChannelType();
      }
      const parsed = parse(threadCreateSchema.omit({ type: true, invitable: true, message: true }), req.body);
      if (!parsed.ok) return parsed.reply;
      if (message.thread || fake.state.channels.has(message.id)) return Errors.threadAlreadyCreated();
      const thread = fake.state.createThread(
        parent,
        {
          name: parsed.data.name,
          type:
            parent.type === ChannelType.GuildAnnouncement
              ? ChannelType.AnnouncementThread
              : ChannelType.PublicThread,
          ownerId: fake.state.botUser.id,
          ...(parsed.data.auto_archive_duration ? { autoArchive: parsed.data.auto_archive_duration } : {}),
        },
        message.id,
      );
      message.thread = fake.state.channelPayload(thread);
      dispatchThreadCreate(fake, thread);
      return ok(fake.state.channelPayload(thread), 201);
    },
  },
  {
    method: 'PUT',
    template: '/channels/:channel_id/thread-members/:user_id',
    auth: 'bot',
    handler: (req, fake) => {
      const thread = messageChannel(fake, req.params['channel_id']);
      if (isReply(thread)) return thread;
      if (!thread.thread_metadata) return Errors.wrongChannelType();
      const rawUser = req.params['user_id'] ?? '';
      const userId = rawUser === '@me' ? fake.state.botUser.id : rawUser;
      // Adding someone takes the right to post in the thread; joining it oneself only seeing it.
      const denied =
        userId === fake.state.botUser.id && thread.type !== ChannelType.PrivateThread
          ? requireBot(fake.state, thread, Perm.ViewChannel)
          : requireBot(fake.state, thread, Perm.SendMessagesInThreads);
      if (denied) return denied;
      if (thread.thread_metadata.archived) return Errors.threadArchived();
      if (!fake.state.users.has(userId)) return Errors.unknownUser();
      if (!fake.state.guilds.get(thread.guild_id)?.members.has(userId)) return Errors.unknownMember();
      const already = fake.state.threadMembers.get(thread.id)?.has(userId) ?? false;
      fake.state.addThreadMember(thread.id, userId);
      if (!already) {
        fake.gateway.dispatch(thread.guild_id, 'THREAD_MEMBERS_UPDATE', {
          id: thread.id,
          guild_id: thread.guild_id,
          member_count: thread.member_count,
          added_members: [threadMemberPayload(fake, thread, userId, true)],
        });
      }
      return noContent();
    },
  },
  {
    method: 'DELETE',
    template: '/channels/:channel_id/thread-members/:user_id',
    auth: 'bot',
    handler: (req, fake) => {
      const thread = messageChannel(fake, req.params['channel_id']);
      if (isReply(thread)) return thread;
      if (!thread.thread_metadata) return Errors.wrongChannelType();
      const rawUser = req.params['user_id'] ?? '';
      const userId = rawUser === '@me' ? fake.state.botUser.id : rawUser;
      // Removing someone else takes Manage Threads, or having made the private thread.
      const own =
        userId === fake.state.botUser.id ||
        (thread.type === ChannelType.PrivateThread && thread.owner_id === fake.state.botUser.id);
      const denied = requireBot(fake.state, thread, own ? Perm.ViewChannel : Perm.ManageThreads);
      if (denied) return denied;
      const members = fake.state.threadMembers.get(thread.id);
      if (!members?.delete(userId)) return Errors.unknownMember();
      thread.member_count = Math.min(50, members.size);
      fake.gateway.dispatch(thread.guild_id, 'THREAD_MEMBERS_UPDATE', {
        id: thread.id,
        guild_id: thread.guild_id,
        member_count: thread.member_count,
        removed_member_ids: [userId],
      });
      return noContent();
    },
  },
  {
    method: 'GET',
    template: '/channels/:channel_id/thread-members',
    auth: 'bot',
    handler: (req, fake) => {
      const thread = messageChannel(fake, req.params['channel_id']);
      if (isReply(thread)) return thread;
      if (!thread.thread_metadata) return Errors.wrongChannelType();
      const denied = requireBot(fake.state, thread, Perm.ViewChannel);
      if (denied) return denied;
      const withMember = req.query.get('with_member') === 'true';
      const ids = [...(fake.state.threadMembers.get(thread.id)?.keys() ?? [])];
      return ok(ids.map((id) => threadMemberPayload(fake, thread, id, withMember)));
    },
  },
  {
    method: 'GET',
    template: '/channels/:channel_id/thread-members/:user_id',
    auth: 'bot',
    handler: (req, fake) => {
      const thread = messageChannel(fake, req.params['channel_id']);
      if (isReply(thread)) return thread;
      if (!thread.thread_metadata) return Errors.wrongChannelType();
      const denied = requireBot(fake.state, thread, Perm.ViewChannel);
      if (denied) return denied;
      const tm = threadMemberPayload(
        fake,
        thread,
        req.params['user_id'] ?? '',
        req.query.get('with_member') === 'true',
      );
      return tm ? ok(tm) : Errors.unknownMember();
    },
  },
];

function isReplyWithErrors(r: {
  status: number;
  body?: unknown;
}): r is { status: number; body: { errors: unknown } } {
  return typeof r.body === 'object' && r.body !== null && 'errors' in r.body;
}

/**
 * A forum post's tags: each one of the forum's (else 50035), a moderated one only with Manage
 * Threads, and at least one when the forum has REQUIRE_TAG (1 << 4), else 40067.
 */
function checkTags(fake: FakeContext, forum: Channel, tags: string[]): RestReply | null {
  const available = forum.available_tags ?? [];
  for (const [i, id] of tags.entries()) {
    const tag = available.find((t) => t.id === id);
    if (!tag) {
      return Errors.invalidFormBody({
        applied_tags: { [i]: { _errors: [{ code: 'UNKNOWN_TAG', message: 'Unknown tag' }] } },
      });
    }
    if (tag.moderated) {
      const denied = requireBot(fake.state, forum, Perm.ManageThreads);
      if (denied) return denied;
    }
  }
  if (tags.length === 0 && (forum.flags & (1 << 4)) !== 0)
    return apiError(400, 40067, 'A tag is required to create a forum post in this channel');
  return null;
}
