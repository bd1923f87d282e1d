import { type apiError, Errors, noContent, ok, type Route } from '../context.js';
import type { InteractionRecord } from '../interactions.js';
import { InteractionType } from '../interactions.js';
import { discordErrors, modalSchema } from '../limits.js';
import type { Json, Message } from '../state.js';
import { editMessage, messageFields, parseMessage, postMessage } from './common.js';

/** Which callback types each interaction type accepts. */
const ALLOWED_CALLBACKS: Record<number, ReadonlySet<number>> = {
  [InteractionType.ApplicationCommand]: new Set([4, 5, 9, 12]),
  [InteractionType.MessageComponent]: new Set([4, 5, 6, 7, 9, 12]),
  [InteractionType.ModalSubmit]: new Set([4, 5, 6, 7]),
  [InteractionType.Autocomplete]: new Set([8]),
};

function invalidType(): ReturnType<typeof Errors.invalidFormBody> {
  return Errors.invalidFormBody({
    type: {
      _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Invalid interaction response type' }],
    },
  });
}

/** The message type Discord gives a reply to this interaction. */
function replyType(record: InteractionRecord): number {
  if (record.kind === 'chatInput') return 20;
  if (record.kind === 'userContextMenu' || record.kind === 'messageContextMenu') return 23;
  return 19;
}

function interactionMetadata(record: InteractionRecord, user: Json): Json {
  const data = record.payload['data'] as Json;
  return {
    id: record.id,
    type: record.type,
    user,
    authorizing_integration_owners: record.payload['authorizing_integration_owners'],
    ...(record.type === InteractionType.ApplicationCommand
      ? { name: data['name'], command_type: data['type'] }
      : {}),
  };
}

export const interactionRoutes: Route[] = [
  {
    method: 'POST',
    template: '/interactions/:interaction_id/:interaction_token/callback',
    auth: 'none',
    handler: (req, fake) => {
      const record = fake.interactions.records.get(req.params['interaction_id'] ?? '');
      if (!record || record.token !== req.params['interaction_token']) return Errors.unknownInteraction();
      const now = Date.now();
      if (record.callback) {
        record.rejectedCallbacks.push({ status: 400, code: 40060, at: now });
        return Errors.alreadyAcknowledged();
      }
      if (now - record.createdAt > fake.options.interactionDeadlineMs) {
        record.rejectedCallbacks.push({ status: 404, code: 10062, at: now });
        return Errors.unknownInteraction();
      }
      const body = (req.body ?? {}) as Json;
      const type = body['type'];
      if (typeof type !== 'number' || !ALLOWED_CALLBACKS[record.type]?.has(type)) return invalidType();
      const data = body['data'];
      const { state } = fake;
      const channel = state.channels.get(record.channelId);
      if (!channel) return Errors.unknownChannel();
      const user = state.users.get(record.userId);
      const metaUser = user ? state.userPayload(user) : {};
      let message: Message | null = null;

      if (type === 4 || type === 7) {
        const parsed = parseMessage({ ...req, body: data ?? {} }, { allowEmpty: type === 7 });
        if (!parsed.ok) {
          const errBody = parsed.reply.body as Json;
          return errBody['errors']
            ? Errors.invalidFormBody({ data: errBody['errors'] as Json })
            : parsed.reply;
        }
        const fields = messageFields(parsed.data);
        if (type === 4) {
          message = postMessage(fake, channel, state.botUser, {
            ...fields,
            type: replyType(record),
            application_id: state.applicationId,
            webhook_id: state.applicationId,
            interaction_metadata: interactionMetadata(record, metaUser),
          });
          record.originalMessageId = message.id;
        } else {
          const target = record.componentMessageId
            ? state.messages.get(channel.id)?.get(record.componentMessageId)
            : undefined;
          if (!target) return Errors.unknownMessage();
          message = editMessage(fake, target, fields);
          record.originalMessageId = target.id;
        }
      } else if (type === 5) {
        const flags =
          typeof (data as Json | undefined)?.['flags'] === 'number' ? ((data as Json)['flags'] as number) : 0;
        message = postMessage(fake, channel, state.botUser, {
          content: '',
          flags: (flags & 64) | 128,
          type: replyType(record),
          application_id: state.applicationId,
          webhook_id: state.applicationId,
          interaction_metadata: interactionMetadata(record, metaUser),
        });
        record.originalMessageId = message.id;
      } else if (type === 6) {
        record.originalMessageId = record.componentMessageId;
      } else if (type === 9) {
        const parsed = modalSchema.safeParse(data ?? {});
        if (!parsed.success) return Errors.invalidFormBody({ data: discordErrors(parsed.error.issues) });
      } else if (type === 8) {
        const choices = (data as Json | undefined)?.['choices'];
        const bad = Array.isArray(choices)
          ? choices.findIndex((c: Json) => {
              const n = c?.['name'];
              const v = c?.['value'];
              return (
                typeof n !== 'string' ||
                n.length < 1 ||
                n.length > 100 ||
                (typeof v === 'string' ? v.length > 100 : typeof v !== 'number')
              );
            })
          : -1;
        if (bad >= 0) {
          return Errors.invalidFormBody({
            data: {
              choices: {
                [bad]: {
                  _errors: [
                    { code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' },
                  ],
                },
              },
            },
          });
        }
        if (Array.isArray(choices) && choices.length > 25) {
          return Errors.invalidFormBody({
            data: {
              choices: {
                _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' }],
              },
            },
          });
        }
      }

      fake.interactions.acknowledge(record, type, data ?? null);
      if (req.query.get('with_response') !== 'true') return noContent();
      return ok({
        interaction: {
          id: record.id,
          type: record.type,
          activity_instance_id: null,
          response_message_id: message?.id ?? null,
          response_message_loading: type === 5,
          response_message_ephemeral: message ? (message.flags & 64) === 64 : false,
        },
        resource: { type, ...(message ? { message: state.messagePayload(message) } : {}) },
      });
    },
  },
];

/** An interaction token's webhook: acknowledged first, and only for 15 minutes. */
export function interactionForWebhook(
  fake: Parameters<Route['handler']>[1],
  webhookId: string,
  token: string,
): InteractionRecord | ReturnType<typeof apiError> | null {
  if (webhookId !== fake.state.applicationId) return null;
  const record = fake.interactions.byToken(token);
  if (!record) return null;
  if (Date.now() - record.createdAt > fake.options.interactionTokenLifetimeMs)
    return Errors.invalidWebhookToken();
  if (!record.callback) return Errors.unknownWebhook();
  return record;
}
