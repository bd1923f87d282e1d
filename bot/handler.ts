import { randomUUID } from 'node:crypto';
import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  DiscordAPIError,
  HTTPError,
  type Interaction,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  type ModalSubmitInteraction,
  type RESTPostAPIApplicationCommandsJSONBody,
  type StringSelectMenuInteraction,
  type UserContextMenuCommandInteraction,
} from 'discord.js';
import { isAppError } from '../lib/errors.js';
import type { Locale } from '../lib/i18n/locales.js';
import { type MessageKey, t } from '../lib/i18n/messages.js';
import type { Logger } from '../lib/logger.js';
import { counter, histogram } from '../lib/metrics.js';
import type { Ack, CommandAck, EarlyAck } from './acks.js';
import type { BotDeps } from './context.js';
import { explainRefusal } from './refusals.js';
import { localeOf, Refusal, refusalText, refuse } from './say.js';
import { validationText } from './validation-text.js';

/** What a handler runs with: the shared dependencies, this interaction's request id and logger. */
export interface Ctx {
  deps: BotDeps;
  requestId: string;
  log: Logger;
}

export type RepliableInteraction =
  | ChatInputCommandInteraction
  | ButtonInteraction
  | StringSelectMenuInteraction
  | ModalSubmitInteraction
  | MessageContextMenuCommandInteraction
  | UserContextMenuCommandInteraction;

export interface CommandHandler<I extends RepliableInteraction = ChatInputCommandInteraction> {
  data: RESTPostAPIApplicationCommandsJSONBody;
  /** How it is first answered (`acks.ts`); the gateway thread acknowledges `defer` ones. */
  ack: CommandAck;
  execute(i: I, ctx: Ctx): Promise<void>;
  /** Suggestions while typing an option marked autocomplete (answered at once, no deferral exists). */
  autocomplete?(i: AutocompleteInteraction, deps: BotDeps): Promise<{ name: string; value: string }[]>;
}

export interface ComponentHandler<I extends RepliableInteraction = RepliableInteraction> {
  /** custom ids look like `gm:<action>:<args...>`; this is `<action>`. */
  action: string;
  ack: Ack;
  execute(i: I, ctx: Ctx, args: string[]): Promise<void>;
}

const handled = counter('gamemod_bot_interactions_total', 'Interactions handled by the bot', [
  'kind',
  'name',
  'outcome',
]);
const ackSeconds = histogram(
  'gamemod_bot_interaction_ack_seconds',
  'Time from receiving an interaction to acknowledging it',
  ['kind'],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
);

/** Ephemeral answer: edits the deferred reply, or replies when nothing was sent yet. */
export async function respond(
  i: RepliableInteraction,
  content: string | { content?: string; embeds?: unknown[]; components?: unknown[] },
): Promise<void> {
  const body = typeof content === 'string' ? { content } : content;
  const payload = { allowedMentions: { parse: [] as [] }, ...body } as Parameters<typeof i.editReply>[0] &
    object;
  if (i.deferred || i.replied) {
    await i.editReply(payload);
  } else {
    await i.reply({ ...(payload as object), flags: MessageFlags.Ephemeral } as Parameters<typeof i.reply>[0]);
  }
}

/**
 * Words a user can act on, for failures they can do something about; everything else is generic.
 * In the asker's language where the words are ours; a Discord error's own detail stays as sent.
 */
export function userMessage(err: unknown, requestId: string, locale: Locale = 'en-US'): string {
  const say = (key: MessageKey, params: Record<string, string> = {}) =>
    t(locale, key, { requestId, ...params });
  // Validation failures name internal field paths ("maxOpenPerPlayer", "addTags.0"): users get
  // only what is wrong, in their language (the details themselves stay zod's English).
  if (isAppError(err) && err.code === 'validation_failed' && !(err instanceof Refusal)) {
    const details: { message?: unknown }[] = Array.isArray(err.details) ? err.details : [];
    const msgs = [
      ...new Set(
        details
          .map((d) => d.message)
          .filter((m): m is string => typeof m === 'string')
          .map((m) => validationText(m, locale)),
      ),
    ];
    if (msgs.length) return say('error.notAccepted', { reasons: msgs.join('; ') }).slice(0, 1900);
  }
  if (isAppError(err) && err.code !== 'internal' && err.code !== 'unavailable')
    return refusalText(err, locale);
  if (isAppError(err) && err.code === 'unavailable')
    return err instanceof Refusal ? refusalText(err, locale) : say('error.unavailable');
  if (err instanceof DiscordAPIError) {
    if (err.code === 50013 || err.code === 50001 || err.status === 403)
      return say('error.missingPermission', { detail: err.message });
    if (err.code === 10003) return say('error.channelGone');
    if (err.code === 50035) return say('error.discordInvalid', { detail: err.message });
    if (err.status >= 500 || err.status === 429) return say('error.discordTrouble');
  }
  if (err instanceof HTTPError && (err.status >= 500 || err.status === 429))
    return say('error.discordTrouble');
  return say('error.generic');
}

/**
 * The ephemeral deferral. After the gateway thread's attempt went unanswered, "already
 * acknowledged" (40060) means that attempt landed: the interaction is deferred, not a replay.
 */
async function deferUnlessTaken(i: RepliableInteraction, early: EarlyAck | undefined): Promise<void> {
  try {
    await i.deferReply({ flags: MessageFlags.Ephemeral });
  } catch (err) {
    if (!(early && 'unsure' in early && err instanceof DiscordAPIError && err.code === 40060)) throw err;
    i.deferred = true;
    i.ephemeral = true;
  }
}

/** Discord refused the gateway thread's acknowledgement (the code it answered with). */
class AckRefused extends Error {
  constructor(readonly code: number) {
    super(`Discord refused the acknowledgement (${code})`);
  }
}

function isAckRefused(err: unknown): boolean {
  // 10062 unknown interaction (too late or replayed), 40060 already acknowledged (a replay).
  return (
    (err instanceof DiscordAPIError || err instanceof AckRefused) &&
    (err.code === 10062 || err.code === 40060)
  );
}

/**
 * Runs one handler so that the interaction is always answered and nothing escapes: `defer`
 * handlers are acknowledged first (by the gateway thread when it could: `early`); any failure
 * becomes an ephemeral message with a request id. A replayed interaction (Discord refuses the
 * second acknowledgement) stops before doing any work, which with the ticket's idempotency key
 * is why a retry never opens a second ticket.
 */
export async function runHandler<I extends RepliableInteraction>(
  deps: BotDeps,
  i: I,
  kind: string,
  name: string,
  ack: Ack,
  run: (ctx: Ctx) => Promise<void>,
  early?: EarlyAck,
): Promise<void> {
  const requestId = randomUUID();
  const log = deps.logger.child({ requestId, interactionId: i.id, kind, name, guildId: i.guildId });
  const ctx: Ctx = { deps, requestId, log };
  if (ack === 'defer') {
    try {
      if (early && 'refused' in early) throw new AckRefused(early.refused);
      if (!i.deferred) await deferUnlessTaken(i, early);
      ackSeconds.observe(
        { kind },
        ((early && 'at' in early ? early.at : Date.now()) - i.createdTimestamp) / 1000,
      );
    } catch (err) {
      handled.inc({ kind, name, outcome: 'ack_refused' });
      log[isAckRefused(err) ? 'info' : 'warn'](
        { err },
        'could not acknowledge the interaction; not handling it',
      );
      return;
    }
  }
  try {
    // PostgreSQL can't store NUL; refused before any work, so nothing half-happens on Discord.
    if (typedNul(i)) {
      throw refuse('invalid_character', 'error.nul');
    }
    await run(ctx);
    handled.inc({ kind, name, outcome: 'ok' });
  } catch (err) {
    const expected = isAppError(err) && err.code !== 'internal' && err.code !== 'unavailable';
    handled.inc({ kind, name, outcome: expected ? 'refused' : 'error' });
    if (expected)
      log.info({ code: isAppError(err) ? err.code : undefined, msg: (err as Error).message }, 'refused');
    else log.error({ err }, 'interaction handler failed');
    if (!i.deferred && !i.replied && isAckRefused(err)) return;
    try {
      // A Discord refusal for a missing permission is told with the permission's name.
      const shown = userMessage(await explainRefusal(deps.client, err), requestId, localeOf(i));
      if (i.replied && !i.deferred) {
        await i.followUp({ content: shown, flags: MessageFlags.Ephemeral });
      } else {
        await respond(i, shown);
      }
    } catch (replyErr) {
      log.warn({ err: replyErr }, 'could not tell the user about the failure');
    }
  }
}

type TypedOption = { value?: unknown; options?: readonly TypedOption[] };
const hasNul = (v: unknown): boolean =>
  typeof v === 'string' ? v.includes('\u0000') : Array.isArray(v) && v.some(hasNul);

/** True when text the user typed (a command's options, a form's answers) holds a NUL character. */
function typedNul(i: RepliableInteraction): boolean {
  if (i.isModalSubmit()) {
    return [...i.fields.fields.values()].some((f) => {
      const field = f as { value?: unknown; values?: unknown };
      return hasNul(field.value) || hasNul(field.values);
    });
  }
  if (i.isChatInputCommand() || i.isContextMenuCommand()) {
    const walk = (options: readonly TypedOption[]): boolean =>
      options.some((o) => hasNul(o.value) || walk(o.options ?? []));
    return walk(i.options.data);
  }
  return false;
}

export function interactionKind(i: Interaction): string {
  if (i.isChatInputCommand()) return 'command';
  if (i.isContextMenuCommand()) return 'context_menu';
  if (i.isButton()) return 'button';
  if (i.isStringSelectMenu()) return 'select';
  if (i.isModalSubmit()) return 'modal';
  return 'other';
}
