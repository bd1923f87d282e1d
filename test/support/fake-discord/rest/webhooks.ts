import { z } from 'zod';
import { Perm, requireBot } from '../access.js';
import {
  apiError,
  Errors,
  type FakeContext,
  noContent,
  ok,
  type RestReply,
  type RestRequest,
  type Route,
} from '../context.js';
import type { InteractionRecord } from '../interactions.js';
import { str } from '../limits.js';
import { randomToken, snowflake } from '../snowflake.js';
import { type Channel, ChannelType, type Message, type User, type Webhook } from '../state.js';
import {
  attachmentsFrom,
  editMessage,
  isReply,
  messageFields,
  parse,
  parseMessage,
  postMessage,
} from './common.js';
import { interactionForWebhook } from './interactions.js';
import { ensureWritable } from './messages.js';

const webhookCreateSchema = z.looseObject({
  name: str(80, 1).refine(
    (n) => !/discord|clyde/i.test(n),
    'WEBHOOK_INVALID_USERNAME|Username cannot contain "discord" or "clyde"',
  ),
  avatar: z.string().nullable().optional(),
});

function webhookPayload(fake: FakeContext, w: Webhook, withToken: boolean) {
  return {
    id: w.id,
    type: w.type,
    guild_id: w.guild_id,
    channel_id: w.channel_id,
    name: w.name,
    avatar: w.avatar,
    application_id: w.application_id,
    ...(w.user ? { user: fake.state.userPayload(w.user) } : {}),
    ...(withToken ? { token: w.token, url: `${fake.baseUrl()}/api/webhooks/${w.id}/${w.token}` } : {}),
  };
}

type Target = { kind: 'interaction'; record: InteractionRecord } | { kind: 'webhook'; webhook: Webhook };

function resolveTarget(req: RestRequest, fake: FakeContext): Target | RestReply {
  const id = req.params['webhook_id'] ?? '';
  const token = req.params['webhook_token'] ?? '';
  const interaction = interactionForWebhook(fake, id, token);
  if (interaction && isReply(interaction)) return interaction;
  if (interaction) return { kind: 'interaction', record: interaction };
  const webhook = fake.state.webhooks.get(id);
  if (!webhook) return Errors.unknownWebhook();
  if (webhook.token !== token) return Errors.invalidWebhookToken();
  return { kind: 'webhook', webhook };
}

/** The message a webhook route names (`@original` for an interaction's first response). */
function targetMessage(req: RestRequest, fake: FakeContext): Message | RestReply {
  const target = resolveTarget(req, fake);
  if (isReply(target)) return target;
  const messageId = req.params['message_id'] ?? '';
  if (target.kind === 'interaction') {
    const r = target.record;
    const id = messageId === '@original' ? r.originalMessageId : messageId;
    if (!id || (id !== r.originalMessageId && !r.followupIds.includes(id))) return Errors.unknownMessage();
    for (const store of fake.state.messages.values()) {
      const m = store.get(id);
      if (m) return m;
    }
    return Errors.unknownMessage();
  }
  for (const store of fake.state.messages.values()) {
    const m = store.get(messageId);
    if (m && m.webhook_id === target.webhook.id) return m;
  }
  return Errors.unknownMessage();
}

function webhookAuthor(w: Webhook, username: string | undefined, avatarUrl: string | undefined): User {
  return {
    id: w.id,
    username: username ?? w.name ?? 'Captain Hook',
    global_name: null,
    discriminator: '0000',
    avatar: avatarUrl ? `fake${Buffer.from(avatarUrl).toString('hex').slice(0, 28)}` : w.avatar,
    bot: true,
    public_flags: 0,
    flags: 0,
  };
}

export const webhookRoutes: Route[] = [
  {
    method: 'POST',
    template: '/channels/:channel_id/webhooks',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = fake.state.channels.get(req.params['channel_id'] ?? '');
      if (!channel) return Errors.unknownChannel();
      if (channel.thread_metadata || channel.type === ChannelType.GuildCategory)
        return Errors.wrongChannelType();
      const refused = requireBot(fake.state, channel, Perm.ManageWebhooks);
      if (refused) return refused;
      const parsed = parse(webhookCreateSchema, req.body);
      if (!parsed.ok) return parsed.reply;
      const count = [...fake.state.webhooks.values()].filter((w) => w.channel_id === channel.id).length;
      if (count >= 15) return apiError(400, 30007, 'Maximum number of webhooks reached (15)');
      const webhook: Webhook = {
        id: snowflake(),
        type: 1,
        guild_id: channel.guild_id,
        channel_id: channel.id,
        name: parsed.data.name,
        avatar: null,
        token: randomToken(48),
        application_id: fake.state.applicationId,
        user: fake.state.botUser,
      };
      fake.state.webhooks.set(webhook.id, webhook);
      fake.gateway.dispatch(channel.guild_id, 'WEBHOOKS_UPDATE', {
        guild_id: channel.guild_id,
        channel_id: channel.id,
      });
      return ok(webhookPayload(fake, webhook, true));
    },
  },
  {
    method: 'GET',
    template: '/channels/:channel_id/webhooks',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = fake.state.channels.get(req.params['channel_id'] ?? '');
      if (!channel) return Errors.unknownChannel();
      const refused = requireBot(fake.state, channel, Perm.ManageWebhooks);
      if (refused) return refused;
      const list = [...fake.state.webhooks.values()].filter((w) => w.channel_id === channel.id);
      return ok(list.map((w) => webhookPayload(fake, w, true)));
    },
  },
  {
    method: 'GET',
    template: '/webhooks/:webhook_id',
    auth: 'bot',
    handler: (req, fake) => {
      const w = fake.state.webhooks.get(req.params['webhook_id'] ?? '');
      return w ? ok(webhookPayload(fake, w, true)) : Errors.unknownWebhook();
    },
  },
  {
    method: 'DELETE',
    template: '/webhooks/:webhook_id',
    auth: 'bot',
    handler: (req, fake) =>
      fake.state.webhooks.delete(req.params['webhook_id'] ?? '') ? noContent() : Errors.unknownWebhook(),
  },
  {
    method: 'GET',
    template: '/webhooks/:webhook_id/:webhook_token',
    auth: 'none',
    handler: (req, fake) => {
      const target = resolveTarget(req, fake);
      if (isReply(target)) return target;
      if (target.kind === 'interaction') return Errors.unknownWebhook();
      const { user: _u, ...rest } = webhookPayload(fake, target.webhook, false);
      return ok(rest);
    },
  },
  {
    method: 'POST',
    template: '/webhooks/:webhook_id/:webhook_token',
    auth: 'none',
    handler: (req, fake) => {
      const target = resolveTarget(req, fake);
      if (isReply(target)) return target;
      const parsed = parseMessage(req);
      if (!parsed.ok) return parsed.reply;
      const fields = messageFields(parsed.data);
      const wait = req.query.get('wait') === 'true';
      const { state } = fake;
      if (target.kind === 'interaction') {
        const r = target.record;
        const channel = state.channels.get(r.channelId);
        if (!channel) return Errors.unknownChannel();
        // The first follow-up after a deferred reply fills in the "thinking" message.
        const original = r.originalMessageId
          ? state.messages.get(channel.id)?.get(r.originalMessageId)
          : undefined;
        if (original && original.flags & 128 && r.callback?.type === 5) {
          const edited = editMessage(fake, original, { ...fields, flags: original.flags & ~128 });
          return wait ? ok(state.messagePayload(edited)) : noContent();
        }
        const message = postMessage(fake, channel, state.botUser, {
          ...fields,
          attachments: attachmentsFrom(req, channel.id),
          application_id: state.applicationId,
          webhook_id: state.applicationId,
          type: 19,
        });
        r.followupIds.push(message.id);
        return wait ? ok(state.messagePayload(message)) : noContent();
      }
      const w = target.webhook;
      let channel: Channel | undefined = w.channel_id ? state.channels.get(w.channel_id) : undefined;
      if (!channel) return Errors.unknownChannel();
      // Discord refuses these names on execute too, not only when the webhook is made.
      if (typeof parsed.data.username === 'string' && /discord|clyde/i.test(parsed.data.username))
        return Errors.invalidFormBody({
          username: {
            _errors: [
              { code: 'WEBHOOK_INVALID_USERNAME', message: 'Username cannot contain "discord" or "clyde"' },
            ],
          },
        });
      const threadId = req.query.get('thread_id');
      const author = webhookAuthor(w, parsed.data.username, parsed.data.avatar_url);
      if (threadId) {
        const thread = state.channels.get(threadId);
        if (!thread || thread.parent_id !== channel.id) return Errors.unknownChannel();
        channel = thread;
      } else if (channel.type === ChannelType.GuildForum) {
        if (!parsed.data.thread_name) {
          return apiError(
            400,
            220001,
            'Webhooks posted to forum channels must have a thread_name or thread_id',
          );
        }
        const thread = state.createThread(channel, {
          name: parsed.data.thread_name,
          type: ChannelType.PublicThread,
          ownerId: w.id,
        });
        state.threadMembers.get(thread.id)?.clear();
        thread.member_count = 0;
        fake.gateway.dispatch(thread.guild_id, 'THREAD_CREATE', {
          ...state.channelPayload(thread),
          newly_created: true,
        });
        channel = thread;
      }
      const refused = ensureWritable(fake, channel);
      if (refused) return refused;
      const message = postMessage(fake, channel, author, {
        ...fields,
        attachments: attachmentsFrom(req, channel.id),
        webhook_id: w.id,
        ...(w.application_id ? { application_id: w.application_id } : {}),
      });
      return wait ? ok(state.messagePayload(message)) : noContent();
    },
  },
  {
    method: 'GET',
    template: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    auth: 'none',
    handler: (req, fake) => {
      const m = targetMessage(req, fake);
      return isReply(m) ? m : ok(fake.state.messagePayload(m));
    },
  },
  {
    method: 'PATCH',
    template: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    auth: 'none',
    handler: (req, fake) => {
      const m = targetMessage(req, fake);
      if (isReply(m)) return m;
      const parsed = parseMessage(req, { allowEmpty: true });
      if (!parsed.ok) return parsed.reply;
      const fields = messageFields(parsed.data);
      // Editing the deferred "thinking" message turns it into the real reply.
      const flags = (fields.flags ?? m.flags) & ~128;
      const edited = editMessage(fake, m, { ...fields, flags: flags | (m.flags & 64) });
      return ok(fake.state.messagePayload(edited));
    },
  },
  {
    method: 'DELETE',
    template: '/webhooks/:webhook_id/:webhook_token/messages/:message_id',
    auth: 'none',
    handler: (req, fake) => {
      const m = targetMessage(req, fake);
      if (isReply(m)) return m;
      fake.state.messages.get(m.channel_id)?.delete(m.id);
      if (m.guild_id)
        fake.gateway.dispatch(m.guild_id, 'MESSAGE_DELETE', {
          id: m.id,
          channel_id: m.channel_id,
          guild_id: m.guild_id,
        });
      return noContent();
    },
  },
];
