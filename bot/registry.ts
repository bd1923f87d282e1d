import { localizeCommands } from '../lib/i18n/commands.js';
import type { AckTable } from './acks.js';
import { closeRequestButton } from './close-requests.js';
import { openAboutMessage, openForUser } from './commands/context-menus.js';
import { link } from './commands/link.js';
import { createFromMessage } from './commands/mirror-ticket.js';
import { panel } from './commands/panel.js';
import { replyCommand } from './commands/reply.js';
import { setup } from './commands/setup.js';
import { stats } from './commands/stats.js';
import { tag } from './commands/tag.js';
import { team } from './commands/team.js';
import { ticket } from './commands/ticket.js';
import { rulesDryButton, rulesLogButton, rulesRunSelect } from './commands/ticket-rules.js';
import {
  claimButton,
  closeButton,
  closeForm,
  prioritySelect,
  rateButton,
  rateForm,
  transcriptButton,
} from './components/actions.js';
import { dmCategorySelect, dmGuildSelect } from './components/dm-choose.js';
import { dmTicketSelect } from './components/dm-ticket.js';
import { ticketForm } from './components/form.js';
import { openButton } from './components/open.js';
import type { CommandHandler, ComponentHandler, RepliableInteraction } from './handler.js';

/** Every application command, by name: what `deploy-commands` registers and the router serves. */
export const commands = new Map<string, CommandHandler<RepliableInteraction & { commandName: string }>>(
  (
    [
      setup,
      panel,
      ticket,
      replyCommand,
      tag,
      stats,
      team,
      link,
      openAboutMessage,
      openForUser,
      createFromMessage,
    ] as unknown as CommandHandler<RepliableInteraction & { commandName: string }>[]
  ).map((c) => [c.data.name, c]),
);

/** Buttons, selects and modals, by the action in their `gm:<action>:...` custom id. */
export const components = new Map<string, ComponentHandler>(
  (
    [
      openButton,
      ticketForm,
      claimButton,
      closeRequestButton,
      closeButton,
      closeForm,
      prioritySelect,
      rateButton,
      rateForm,
      transcriptButton,
      dmGuildSelect,
      dmCategorySelect,
      dmTicketSelect,
      rulesLogButton,
      rulesDryButton,
      rulesRunSelect,
    ] as unknown as ComponentHandler[]
  ).map((c) => [c.action, c]),
);

/** What Discord registers: every command with its names and descriptions in each shipped language. */
export const commandData = () => localizeCommands([...commands.values()].map((c) => c.data));

/** How every command and component is first answered, for the gateway thread. */
export const ackTable = (): AckTable => ({
  commands: Object.fromEntries([...commands].map(([name, c]) => [name, c.ack])),
  components: Object.fromEntries([...components].map(([action, c]) => [action, c.ack])),
});
