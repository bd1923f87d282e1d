import type { REST } from '@discordjs/rest';
import {
  type APIChannel,
  type APIMessage,
  type APIWebhook,
  OverwriteType,
  PermissionFlagsBits,
  Routes,
} from 'discord.js';

/**
 * Discord REST calls shared by the bot (answering its own interactions) and the workers (bringing
 * a ticket's Discord side to its state), on a bare `@discordjs/rest` client: the bot passes
 * `client.rest`, the workers their own. By id, never through discord.js's caches. Moderation calls
 * carry a reason, sent as `X-Audit-Log-Reason`. With tracing on, each call is a client span under
 * the caller's (lib/telemetry-discord.ts patches the client; nothing here needs to know).
 */

export type MessageBody = {
  content?: string;
  embeds?: unknown[];
  components?: unknown[];
  allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[] };
  /** Discord drops a second message with the same nonce for a few minutes (`enforce_nonce`). */
  nonce?: string;
  enforce_nonce?: boolean;
  /** Makes the post a reply to that message. */
  message_reference?: { message_id: string; fail_if_not_exists?: boolean };
};

/**
 * For the workers' REST client (`rejectOnRateLimit`): a channel edit that would wait more than a
 * few seconds is refused with a RateLimitError instead of waited out. Discord allows two renames
 * per channel per 10 minutes; a job holding a worker (and its claim on the ticket) that long
 * would stall everything behind it, so the job puts itself off instead.
 */
export function isLongChannelEditWait(d: { method: string; route: string; timeToReset: number }): boolean {
  return d.method.toUpperCase() === 'PATCH' && d.route === '/channels/:id' && d.timeToReset > 5_000;
}

/** Extra request options: the workers pass their shutdown signal so a stop interrupts a wait. */
export type RequestExtras = { signal?: AbortSignal };

export async function postMessage(rest: REST, channelId: string, body: MessageBody, x: RequestExtras = {}) {
  return (await rest.post(Routes.channelMessages(channelId), { body, ...x })) as APIMessage;
}

export async function postFile(
  rest: REST,
  channelId: string,
  body: MessageBody,
  file: { name: string; data: Buffer; contentType: string },
  x: RequestExtras = {},
) {
  return (await rest.post(Routes.channelMessages(channelId), {
    body: { ...body, attachments: [{ id: 0, filename: file.name }] },
    files: [{ name: file.name, data: file.data, contentType: file.contentType }],
    ...x,
  })) as APIMessage;
}

/** The bot's DM channel with a user (Discord makes it on first use, then returns the same). */
export async function openDm(rest: REST, userId: string, x: RequestExtras = {}) {
  return (await rest.post(Routes.userChannels(), { body: { recipient_id: userId }, ...x })) as APIChannel;
}

export async function getMessage(rest: REST, channelId: string, messageId: string, x: RequestExtras = {}) {
  return (await rest.get(Routes.channelMessage(channelId, messageId), x)) as APIMessage;
}

/** Deletes a message (the bot's own, or another's with Manage Messages); the reason goes to the audit log. */
export async function deleteMessage(
  rest: REST,
  channelId: string,
  messageId: string,
  reason: string,
  x: RequestExtras = {},
) {
  await rest.delete(Routes.channelMessage(channelId, messageId), { reason, ...x });
}

export async function editMessage(
  rest: REST,
  channelId: string,
  messageId: string,
  body: MessageBody,
  x: RequestExtras = {},
) {
  return (await rest.patch(Routes.channelMessage(channelId, messageId), { body, ...x })) as APIMessage;
}

export async function modifyChannel(
  rest: REST,
  channelId: string,
  body: Record<string, unknown>,
  reason: string,
  x: RequestExtras = {},
) {
  return (await rest.patch(Routes.channel(channelId), { body, reason, ...x })) as APIChannel;
}

const VIEW =
  PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ReadMessageHistory;
const ATTACH = PermissionFlagsBits.AttachFiles | PermissionFlagsBits.EmbedLinks;

/**
 * A member's access to a ticket channel: `true` full, `false` none, `'read'` reading only (a
 * closed ticket: the player still sees it, and its rating buttons, but can no longer write).
 */
export async function setMemberAccess(
  rest: REST,
  channelId: string,
  userId: string,
  allowed: boolean | 'read',
  reason: string,
  x: RequestExtras = {},
) {
  if (allowed === 'read') {
    await rest.put(Routes.channelPermission(channelId, userId), {
      body: {
        type: OverwriteType.Member,
        allow: String(PermissionFlagsBits.ViewChannel | PermissionFlagsBits.ReadMessageHistory),
        deny: String(
          PermissionFlagsBits.SendMessages |
            ATTACH |
            PermissionFlagsBits.AddReactions |
            PermissionFlagsBits.CreatePublicThreads |
            PermissionFlagsBits.CreatePrivateThreads |
            PermissionFlagsBits.SendMessagesInThreads,
        ),
      },
      reason,
      ...x,
    });
  } else if (allowed) {
    await rest.put(Routes.channelPermission(channelId, userId), {
      body: { type: OverwriteType.Member, allow: String(VIEW | ATTACH), deny: '0' },
      reason,
      ...x,
    });
  } else {
    await rest.delete(Routes.channelPermission(channelId, userId), { reason, ...x });
  }
}

export async function addThreadMember(
  rest: REST,
  threadId: string,
  userId: string,
  reason: string,
  x: RequestExtras = {},
) {
  await rest.put(Routes.threadMembers(threadId, userId), { reason, ...x });
}

/**
 * The channel webhook staff replies are posted through: the one this bot made before (it has a
 * token and the bot's user or application), else a new one. `own` is the bot's user id.
 */
export async function ensureChannelWebhook(
  rest: REST,
  channelId: string,
  own: { userId?: string | null; applicationId?: string | null },
  x: RequestExtras = {},
): Promise<{ id: string; token: string }> {
  const list = (await rest.get(Routes.channelWebhooks(channelId), x)) as APIWebhook[];
  const mine = list.find(
    (w) =>
      w.token &&
      ((own.applicationId && w.application_id === own.applicationId) ||
        (own.userId && w.user?.id === own.userId)),
  );
  const hook =
    mine ??
    ((await rest.post(Routes.channelWebhooks(channelId), {
      body: { name: 'GameMod Support' },
      reason: 'GameMod: post staff replies under the staff member’s name',
      ...x,
    })) as APIWebhook);
  return { id: hook.id, token: hook.token as string };
}
