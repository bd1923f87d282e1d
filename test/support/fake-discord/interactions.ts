import type { FakeContext } from './context.js';
import { randomToken, snowflake } from './snowflake.js';
import type { Json } from './state.js';

export const InteractionType = {
  Ping: 1,
  ApplicationCommand: 2,
  MessageComponent: 3,
  Autocomplete: 4,
  ModalSubmit: 5,
};

/** A command option as tests write it; `type` is inferred from the value when left out. */
export interface OptionInput {
  name: string;
  value: string | number | boolean;
  /** 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 10 number. */
  type?: number;
}

interface Common {
  /** Guild the interaction comes from; leave out for a DM. */
  guildId?: string;
  channelId: string;
  userId: string;
  locale?: string;
}

export type InteractionInput = Common &
  (
    | {
        /** `autocomplete`: the user is typing in option `focused` (type 4 interaction, answered with type 8). */
        kind: 'chatInput' | 'autocomplete';
        focused?: string;
        name: string;
        commandId?: string;
        subcommand?: string;
        subcommandGroup?: string;
        options?: OptionInput[];
      }
    | { kind: 'button'; customId: string; messageId?: string }
    | { kind: 'stringSelect'; customId: string; values: string[]; messageId?: string }
    | { kind: 'modalSubmit'; customId: string; fields: Record<string, string>; messageId?: string }
    | { kind: 'messageContextMenu'; name: string; targetMessageId: string; commandId?: string }
    | { kind: 'userContextMenu'; name: string; targetUserId: string; commandId?: string }
  );

export interface InteractionCallbackRecord {
  type: number;
  data: unknown;
  at: number;
  /** Milliseconds from dispatching INTERACTION_CREATE to the first callback. */
  ackMs: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  kind: InteractionInput['kind'];
  guildId: string | null;
  channelId: string;
  userId: string;
  payload: Json;
  createdAt: number;
  /** `performance.now()` when INTERACTION_CREATE was dispatched: latencies finer than a millisecond. */
  sentAt: number;
  callback: InteractionCallbackRecord | null;
  /** Callbacks refused (second acks, late acks), for assertions. */
  rejectedCallbacks: { status: number; code: number; at: number }[];
  originalMessageId: string | null;
  /** For components: the message the component sits on. */
  componentMessageId: string | null;
  followupIds: string[];
}

export interface InteractionHandle {
  id: string;
  token: string;
  payload: Json;
  record: InteractionRecord;
  /** The first response, or null when the deadline passed without one. Never rejects. */
  response: Promise<InteractionCallbackRecord | null>;
}

function optionType(o: OptionInput): number {
  if (o.type !== undefined) return o.type;
  if (typeof o.value === 'boolean') return 5;
  if (typeof o.value === 'number') return Number.isInteger(o.value) ? 4 : 10;
  return 3;
}

/** Interactions sent to the bot, the tokens they carry and how they were answered. */
export class Interactions {
  readonly records = new Map<string, InteractionRecord>();
  /** The same records by token: every callback, edit and follow-up looks one up. */
  private readonly tokens = new Map<string, InteractionRecord>();
  private readonly settlers = new Map<string, (cb: InteractionCallbackRecord | null) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly fake: FakeContext) {}

  byToken(token: string): InteractionRecord | undefined {
    return this.tokens.get(token);
  }

  send(input: InteractionInput): InteractionHandle {
    const { state } = this.fake;
    const channel = state.channels.get(input.channelId);
    if (!channel) throw new Error(`unknown channel ${input.channelId}`);
    const guildId = input.guildId ?? null;
    const user = state.users.get(input.userId);
    if (!user) throw new Error(`unknown user ${input.userId}`);
    const id = snowflake();
    const token = `aW50ZXJhY3Rpb246${id}:${randomToken(48)}`;
    let type: number;
    let data: Json;
    let message: Json | undefined;
    let componentMessageId: string | null = null;
    const resolved: { users: Json; members: Json; channels: Json; roles: Json; messages: Json } = {
      users: {},
      members: {},
      channels: {},
      roles: {},
      messages: {},
    };
    const resolveOption = (o: OptionInput, t: number): void => {
      const v = String(o.value);
      if (t === 6) {
        const u = state.users.get(v);
        if (u) resolved.users[v] = state.userPayload(u);
        const m = guildId ? state.interactionMemberPayload(guildId, v) : null;
        if (m) {
          const { user: _u, ...rest } = m;
          resolved.members[v] = rest;
        }
      } else if (t === 7) {
        const c = state.channels.get(v);
        if (c)
          resolved.channels[v] = {
            id: c.id,
            name: c.name,
            type: c.type,
            permissions: '0',
            parent_id: c.parent_id,
          };
      } else if (t === 8 && guildId) {
        const r = state.guilds.get(guildId)?.roles.get(v);
        if (r) resolved.roles[v] = { ...r };
      }
    };

    switch (input.kind) {
      case 'autocomplete':
      case 'chatInput': {
        type =
          input.kind === 'autocomplete' ? InteractionType.Autocomplete : InteractionType.ApplicationCommand;
        const auto = input.kind === 'autocomplete';
        let options: Json[] = (input.options ?? []).map((o) => {
          const t = optionType(o);
          if (!auto) resolveOption(o, t);
          // Autocomplete sends the partial text as a string, with the focused option marked.
          return auto
            ? {
                name: o.name,
                type: t,
                value: String(o.value),
                ...(o.name === input.focused ? { focused: true } : {}),
              }
            : { name: o.name, type: t, value: o.value };
        });
        if (input.subcommand) options = [{ name: input.subcommand, type: 1, options }];
        if (input.subcommandGroup) options = [{ name: input.subcommandGroup, type: 2, options }];
        data = {
          id: input.commandId ?? this.commandId(input.name, 1, guildId),
          name: input.name,
          type: 1,
          options,
          ...(guildId ? { guild_id: guildId } : {}),
        };
        break;
      }
      case 'userContextMenu': {
        type = InteractionType.ApplicationCommand;
        resolveOption({ name: 'target', value: input.targetUserId }, 6);
        data = {
          id: input.commandId ?? this.commandId(input.name, 2, guildId),
          name: input.name,
          type: 2,
          target_id: input.targetUserId,
        };
        break;
      }
      case 'messageContextMenu': {
        type = InteractionType.ApplicationCommand;
        const target = state.messages.get(input.channelId)?.get(input.targetMessageId);
        if (!target) throw new Error(`unknown message ${input.targetMessageId}`);
        resolved.messages[target.id] = state.messagePayload(target);
        data = {
          id: input.commandId ?? this.commandId(input.name, 3, guildId),
          name: input.name,
          type: 3,
          target_id: target.id,
        };
        break;
      }
      case 'button':
      case 'stringSelect': {
        // Discord's clients disable components (all but link buttons) in a locked thread.
        if (channel.thread_metadata?.locked)
          throw new Error(`channel ${channel.id} is a locked thread: nobody can press its components`);
        type = InteractionType.MessageComponent;
        const msg = this.componentMessage(input.channelId, input.messageId, input.customId, input.kind);
        componentMessageId = msg['id'] as string;
        message = msg;
        data =
          input.kind === 'button'
            ? { custom_id: input.customId, component_type: 2 }
            : { custom_id: input.customId, component_type: 3, values: input.values };
        break;
      }
      case 'modalSubmit': {
        type = InteractionType.ModalSubmit;
        if (input.messageId) {
          const m = state.messages.get(input.channelId)?.get(input.messageId);
          if (m) {
            message = state.messagePayload(m);
            componentMessageId = m.id;
          }
        }
        data = {
          custom_id: input.customId,
          components: Object.entries(input.fields).map(([customId, value]) => ({
            type: 1,
            components: [{ type: 4, custom_id: customId, value }],
          })),
        };
        break;
      }
    }

    const hasResolved = Object.values(resolved).some((v) => Object.keys(v).length > 0);
    if (
      hasResolved &&
      input.kind !== 'button' &&
      input.kind !== 'stringSelect' &&
      input.kind !== 'modalSubmit'
    ) {
      data['resolved'] = Object.fromEntries(
        Object.entries(resolved).filter(([, v]) => Object.keys(v).length > 0),
      );
    }

    const locale = input.locale ?? 'en-US';
    const payload: Json = {
      id,
      application_id: state.applicationId,
      type,
      data,
      token,
      version: 1,
      channel_id: channel.id,
      channel: state.channelPayload(channel),
      app_permissions: guildId ? state.permissionsIn(guildId, state.botUser.id, channel.id) : '0',
      locale,
      entitlements: [],
      authorizing_integration_owners: guildId ? { '0': guildId } : { '1': input.userId },
      context: guildId ? 0 : 1,
      attachment_size_limit: 10_485_760,
      ...(message ? { message } : {}),
    };
    if (guildId) {
      const member = state.interactionMemberPayload(guildId, input.userId, channel.id);
      if (!member) throw new Error(`user ${input.userId} is not a member of guild ${guildId}`);
      payload['guild_id'] = guildId;
      payload['guild'] = {
        id: guildId,
        locale: state.guilds.get(guildId)?.preferred_locale ?? 'en-US',
        features: [],
      };
      payload['guild_locale'] = state.guilds.get(guildId)?.preferred_locale ?? 'en-US';
      payload['member'] = member;
    } else {
      payload['user'] = state.userPayload(user);
    }

    const record: InteractionRecord = {
      id,
      token,
      type,
      kind: input.kind,
      guildId,
      channelId: channel.id,
      userId: input.userId,
      payload,
      createdAt: Date.now(),
      sentAt: 0,
      callback: null,
      rejectedCallbacks: [],
      originalMessageId: null,
      componentMessageId,
      followupIds: [],
    };
    this.records.set(id, record);
    this.tokens.set(token, record);
    const response = new Promise<InteractionCallbackRecord | null>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.settlers.delete(id);
        resolve(record.callback);
      }, this.fake.options.interactionDeadlineMs + 50);
      this.timers.add(timer);
      this.settlers.set(id, (cb) => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.settlers.delete(id);
        resolve(cb);
      });
    });
    record.sentAt = performance.now();
    this.fake.gateway.dispatch(guildId, 'INTERACTION_CREATE', payload);
    return { id, token, payload, record, response };
  }

  /** Records the first callback and resolves the handle's promise. */
  acknowledge(record: InteractionRecord, type: number, data: unknown): InteractionCallbackRecord {
    const cb: InteractionCallbackRecord = {
      type,
      data,
      at: Date.now(),
      ackMs: performance.now() - record.sentAt,
    };
    record.callback = cb;
    this.settlers.get(record.id)?.(cb);
    return cb;
  }

  /**
   * Forgets a settled interaction and its ephemeral original response (a load test's history,
   * which Discord would not keep in the way of the next ones).
   */
  forget(id: string): void {
    const record = this.records.get(id);
    if (!record || this.settlers.has(id)) return;
    this.records.delete(id);
    this.tokens.delete(record.token);
    if (record.originalMessageId)
      this.fake.state.messages.get(record.channelId)?.delete(record.originalMessageId);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const settle of [...this.settlers.values()]) settle(null);
  }

  private commandId(name: string, type: number, guildId: string | null): string {
    const { state } = this.fake;
    const lists = [...(guildId ? (state.guildCommands.get(guildId) ?? []) : []), ...state.globalCommands];
    const found = lists.find((c) => c['name'] === name && (c['type'] ?? 1) === type);
    return typeof found?.['id'] === 'string' ? found['id'] : snowflake();
  }

  /** The message a component sits on: the given one, or a bot message carrying that component. */
  private componentMessage(
    channelId: string,
    messageId: string | undefined,
    customId: string,
    kind: 'button' | 'stringSelect',
  ): Json {
    const { state } = this.fake;
    if (messageId) {
      const m = state.messages.get(channelId)?.get(messageId);
      if (!m) throw new Error(`unknown message ${messageId}`);
      return state.messagePayload(m);
    }
    const channel = state.channels.get(channelId);
    if (!channel) throw new Error(`unknown channel ${channelId}`);
    const component =
      kind === 'button'
        ? { type: 2, style: 1, custom_id: customId, label: 'Button' }
        : {
            type: 3,
            custom_id: customId,
            options: [{ label: 'One', value: 'one' }],
            min_values: 1,
            max_values: 1,
          };
    const m = state.addMessage(channel, {
      author: state.botUser,
      content: 'Panel',
      components: [{ type: 1, components: [component] }],
    });
    return state.messagePayload(m);
  }
}
