import { type Interaction, MessageFlags } from 'discord.js';
import { t as say } from '../../lib/i18n/messages.js';
import { commandAck, type EarlyAck } from '../acks.js';
import { withinAutocompleteBudget } from '../autocomplete.js';
import type { BotDeps } from '../context.js';
import { interactionKind, type RepliableInteraction, runHandler } from '../handler.js';
import { commands, components } from '../registry.js';
import { localeOf } from '../say.js';

/**
 * Routes an interaction to its command or component handler, always answering it; `early` is
 * what the gateway thread did about its acknowledgement (`gateway.ts`).
 */
export async function onInteraction(deps: BotDeps, i: Interaction, early?: EarlyAck): Promise<void> {
  if (i.isAutocomplete()) {
    const handler = commands.get(i.commandName);
    const choices = handler?.autocomplete
      ? await withinAutocompleteBudget(handler.autocomplete(i, deps))
      : [];
    await i.respond(choices).catch((err) => deps.logger.warn({ err }, 'could not answer an autocomplete'));
    return;
  }
  if (!i.isRepliable()) return;
  const kind = interactionKind(i);
  if (i.isCommand()) {
    const handler = commands.get(i.commandName);
    const ri = i as unknown as RepliableInteraction & { commandName: string };
    if (!handler) {
      await runHandler(
        deps,
        ri,
        kind,
        i.commandName,
        'defer',
        async () => {
          throw new Error(`no handler for command ${i.commandName}`);
        },
        early,
      );
      return;
    }
    const ack = i.isChatInputCommand()
      ? commandAck(handler.ack, i.options.getSubcommand(false), (name) => i.options.get(name) !== null)
      : commandAck(handler.ack, null, () => false);
    await runHandler(deps, ri, kind, i.commandName, ack, (ctx) => handler.execute(ri, ctx), early);
    return;
  }
  if (i.isMessageComponent() || i.isModalSubmit()) {
    const [prefix, action = '', ...args] = i.customId.split(':');
    const handler = prefix === 'gm' ? components.get(action) : undefined;
    if (!handler) {
      await i
        .reply({ content: say(localeOf(i), 'error.staleButton'), flags: MessageFlags.Ephemeral })
        .catch(() => {});
      return;
    }
    const ri = i as RepliableInteraction;
    await runHandler(deps, ri, kind, action, handler.ack, (ctx) => handler.execute(ri, ctx, args), early);
  }
}
