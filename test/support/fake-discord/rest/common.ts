import type { z } from 'zod';
import { Errors, type FakeContext, type RestReply, type RestRequest } from '../context.js';
import { discordErrors, type MessageBody, messageBodySchema } from '../limits.js';
import { snowflake } from '../snowflake.js';
import type { Channel, Json, Message, User } from '../state.js';

export type Parsed<T> = { ok: true; data: T } | { ok: false; reply: RestReply };

/** Validates a body with a zod schema, answering 50035 in Discord's nested error shape. */
export function parse<T extends z.ZodType>(schema: T, body: unknown): Parsed<z.infer<T>> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, reply: Errors.invalidFormBody(discordErrors(result.error.issues)) };
}

/** A message body: validated, and not empty (content, embeds, components, files or stickers). */
export function parseMessage(req: RestRequest, opts: { allowEmpty?: boolean } = {}): Parsed<MessageBody> {
  const parsed = parse(messageBodySchema, req.body);
  if (!parsed.ok) return parsed;
  const m = parsed.data;
  const empty =
    !m.content &&
    !(m.embeds && m.embeds.length > 0) &&
    !(m.components && m.components.length > 0) &&
    !(m.sticker_ids && m.sticker_ids.length > 0) &&
    req.files.length === 0 &&
    !m['poll'];
  if (empty && !opts.allowEmpty) return { ok: false, reply: Errors.emptyMessage() };
  return parsed;
}

/** Attachments as Discord returns them, from the uploaded files. */
export function attachmentsFrom(req: RestRequest, channelId: string): Json[] {
  return req.files.map((f) => {
    const id = snowflake();
    return {
      id,
      filename: f.filename,
      size: f.size,
      content_type: f.contentType,
      url: `https://cdn.discordapp.com/attachments/${channelId}/${id}/${encodeURIComponent(f.filename)}`,
      proxy_url: `https://media.discordapp.net/attachments/${channelId}/${id}/${encodeURIComponent(f.filename)}`,
    };
  });
}

/** Message fields from a validated body (what create, edit and webhook calls share). */
export function messageFields(m: MessageBody): Partial<Message> {
  const out: Partial<Message> = {};
  if (m.content !== undefined) out.content = m.content ?? '';
  if (m.embeds !== undefined) out.embeds = (m.embeds ?? []).map((e) => ({ type: 'rich', ...e }));
  if (m.components !== undefined) out.components = m.components ?? [];
  if (m.tts !== undefined) out.tts = m.tts;
  if (m.flags !== undefined && m.flags !== null) out.flags = m.flags;
  return out;
}

export function mentionsIn(
  fake: FakeContext,
  content: string,
): { mentions: Json[]; mention_roles: string[] } {
  const mentions: Json[] = [];
  for (const match of content.matchAll(/<@!?(\d{17,20})>/g)) {
    const user = match[1] ? fake.state.users.get(match[1]) : undefined;
    if (user) mentions.push(fake.state.userPayload(user));
  }
  const mention_roles = [...content.matchAll(/<@&(\d{17,20})>/g)].map((m) => m[1] ?? '');
  return { mentions, mention_roles };
}

/** Stores a message and, for guild channels, dispatches MESSAGE_CREATE (Discord echoes the bot's own). */
export function postMessage(
  fake: FakeContext,
  channel: Channel,
  author: User,
  fields: Partial<Message>,
  opts: { dispatch?: boolean } = {},
): Message {
  const message = fake.state.addMessage(channel, {
    ...mentionsIn(fake, fields.content ?? ''),
    ...fields,
    author,
  });
  if (opts.dispatch !== false && !(message.flags & 64)) {
    fake.gateway.dispatch(channel.guild_id || null, 'MESSAGE_CREATE', {
      ...fake.state.messagePayload(message),
      ...(channel.guild_id ? { member: memberLite(fake, channel.guild_id, author.id) } : {}),
    });
  }
  return message;
}

export function memberLite(fake: FakeContext, guildId: string, userId: string): Json | undefined {
  const m = fake.state.memberPayload(guildId, userId);
  if (!m) return undefined;
  const { user: _u, ...rest } = m;
  return rest;
}

/** Dispatches THREAD_UPDATE for threads and CHANNEL_UPDATE for the rest. */
export function dispatchChannelUpdate(fake: FakeContext, channel: Channel): void {
  fake.gateway.dispatch(
    channel.guild_id,
    channel.thread_metadata ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE',
    fake.state.channelPayload(channel),
  );
}

export function editMessage(fake: FakeContext, message: Message, fields: Partial<Message>): Message {
  Object.assign(message, fields, { edited_timestamp: new Date().toISOString() });
  if (fields.content !== undefined) Object.assign(message, mentionsIn(fake, fields.content));
  if (message.guild_id && !(message.flags & 64)) {
    fake.gateway.dispatch(message.guild_id, 'MESSAGE_UPDATE', fake.state.messagePayload(message));
  }
  return message;
}

/** A message channel must exist; threads that are archived and locked refuse messages. */
export function messageChannel(fake: FakeContext, id: string | undefined): Channel | RestReply {
  const channel = id ? fake.state.channels.get(id) : undefined;
  if (!channel) return Errors.unknownChannel();
  return channel;
}

export function isReply(x: unknown): x is RestReply {
  return typeof x === 'object' && x !== null && 'status' in x && typeof (x as RestReply).status === 'number';
}
