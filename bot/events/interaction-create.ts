import { type Interaction, MessageFlags } from 'discord.js';
import { t as say } from '../../lib/i18n/messages.js';
import { withinAutocompleteBudget } from '../autocomplete.js';
import type { BotDeps } from '../context.js';
import { type Ack, interactionKind, type RepliableInteraction, runHandler } from '../handler.js';
import { commands, components } from '../registry.js';
import { localeOf } from '../say.js';

/** Routes an interaction to its command or component handler, always answering it. */
export async function onInteraction(deps: BotDeps, i: Interaction): Promise<void> {
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
      await runHandler(deps, ri, kind, i.commandName, 'defer', async () => {
        throw new Error(`no handler for command ${i.commandName}`);
      });
      return;
    }
    const ack: Ack = typeof handler.ack === 'function' ? handler.ack(ri) : handler.ack;
    await runHandler(deps, ri, kind, i.commandName, ack, (ctx) => handler.execute(ri, ctx));
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
    const ack: Ack = typeof handler.ack === 'function' ? handler.ack(ri, args) : handler.ack;
    await runHandler(deps, ri, kind, action, ack, (ctx) => handler.execute(ri, ctx, args));
  }
}
