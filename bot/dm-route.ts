import { ComponentType } from 'discord.js';
import { dmTicketsForUser, recordDm } from '../db/discord-dm.js';
import { discordPlayer } from '../db/discord-standing.js';
import {
  type Conversation,
  openConversation,
  relayedMessageTicket,
  relayedTicketsForUser,
  type TicketRef,
} from '../db/dm-routing.js';
import { withTenant } from '../db/tenant.js';
import type { Locale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import type { DiscordPerson } from './auth.js';
import type { BotDeps } from './context.js';
import type { PendingDm } from './dm-store.js';

/**
 * Which ticket a player's DM belongs to. One bot talks for every organization, so a player may
 * have open conversations with several in the same DM: their modmail tickets, and game, email
 * or API tickets whose staff replies reach the DM. A DM never crosses organizations: a Discord
 * reply to a relayed message goes to that message's ticket; otherwise, with open conversations
 * in more than one organization, the player is asked which (`gm:dmticket`) before anything is
 * recorded; with one, the newest modmail ticket takes it, else the newest relayed ticket.
 */

export type DmRoute =
  | { kind: 'ticket'; to: Conversation }
  | { kind: 'ask'; choices: Conversation[] }
  | { kind: 'none' };

/** A select holds at most 25 options. */
const MAX_CHOICES = 25;

const read = (deps: BotDeps, ref: TicketRef, userId: string) =>
  withTenant(deps.pool, ref.orgId, (tx) => openConversation(tx, ref.ticketId, userId));

/** The player's open conversations in every organization, the most recently active first. */
export async function conversationsOf(deps: BotDeps, userId: string): Promise<Conversation[]> {
  const [dms, relayed] = await Promise.all([
    dmTicketsForUser(deps.pool, userId),
    relayedTicketsForUser(deps.pool, userId),
  ]);
  const refs = new Map([...dms, ...relayed].map((r) => [`${r.orgId}:${r.ticketId}`, r]));
  const open: Conversation[] = [];
  for (const ref of refs.values()) {
    const c = await read(deps, ref, userId);
    if (c) open.push(c);
  }
  return open.sort((a, b) => b.lastActivityAt.getTime() - a.lastActivityAt.getTime());
}

export async function routeDm(deps: BotDeps, userId: string, replyTo: string | null): Promise<DmRoute> {
  if (replyTo) {
    const ref = await relayedMessageTicket(deps.pool, replyTo, userId);
    const to = ref ? await read(deps, ref, userId) : undefined;
    if (to) return { kind: 'ticket', to };
  }
  const open = await conversationsOf(deps, userId);
  if (new Set(open.map((c) => c.orgId)).size > 1) return { kind: 'ask', choices: open.slice(0, MAX_CHOICES) };
  const to = open.find((c) => c.dm) ?? open[0];
  return to ? { kind: 'ticket', to } : { kind: 'none' };
}

/**
 * Records DMs on a conversation, checked again under its tenant in the same transaction (it may
 * have closed since it was chosen). False when it is no longer the player's open ticket.
 */
export async function recordOn(
  deps: BotDeps,
  person: DiscordPerson,
  ref: TicketRef,
  dms: readonly PendingDm[],
  body: (m: PendingDm) => string,
): Promise<boolean> {
  return withTenant(deps.pool, ref.orgId, async (tx) => {
    if (!(await openConversation(tx, ref.ticketId, person.id))) return false;
    const player = await discordPlayer(tx, person);
    for (const m of dms)
      await recordDm(
        tx,
        { ticketId: ref.ticketId, messageId: m.id, body: body(m), attachments: m.attachments },
        player,
      );
    return true;
  });
}

/** The select asking which ticket a DM is for (`gm:dmticket`), value `<org>:<ticket>`. */
export function ticketChoice(choices: readonly Conversation[], locale: Locale) {
  return {
    content: say(locale, 'dm.whichTicket'),
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.StringSelect,
            custom_id: 'gm:dmticket',
            placeholder: say(locale, 'dm.chooseTicket'),
            options: choices.map((c) => ({
              label: `${c.orgName} · #${c.number} ${c.subject}`.slice(0, 100),
              value: `${c.orgId}:${c.ticketId}`,
            })),
          },
        ],
      },
    ],
  };
}
