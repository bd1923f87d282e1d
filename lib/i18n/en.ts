import { enAdmin } from './admin/en.js';
import { enPosts } from './posts/en.js';
import { enRefusals } from './refusals/en.js';
import { enReplies } from './replies/en.js';
/**
 * English: the source of every message key. Slash commands are written in English in their
 * builders (bot/commands/), so this catalog has no command table of its own.
 */
export const en = {
  messages: {
    ...enReplies,
    ...enAdmin,
    ...enPosts,
    ...enRefusals,
    // A rule's canned reply when nobody has the ticket yet: who "{agent}" is.
    'canned.agentFallback': 'our team',
    'closing.thread': 'This ticket was closed.',
    'closing.threadReason': 'This ticket was closed: {reason}',
    'closing.threadMerged': 'This ticket was closed. It was merged into ticket #{target}.',
    'closing.ratePrompt': 'How did we do? Rate it once, from 1 to 5 stars.',
    'closing.ratePromptDm': 'How did we do? The bot sent you a message to rate it, once, from 1 to 5 stars.',
    'closing.dm': 'Your ticket #{number} “{subject}” was closed.',
    // Auto-close's warning to a player who stopped answering (db/auto-close.ts).
    'autoClose.warning':
      'We have not heard back from you for a while. This ticket will be closed in {hours} hours unless you reply.',
    'autoClose.warningOne':
      'We have not heard back from you for a while. This ticket will be closed in 1 hour unless you reply.',
    'rating.linkLabel': 'Rate this ticket',
    'rating.thanks': 'Thanks for rating ticket #{number} {stars}.',
    'rating.onlyRequester': 'Only the player who opened this ticket can rate it.',
    'rating.range': 'A rating is from 1 to 5.',
    'rating.commentLabel': 'Anything to add? (optional)',
    'rating.modalTitle': 'Rate your ticket: {stars}',
    'transcript.button': 'Transcript',
    'transcript.answer':
      'The transcript of ticket #{number}. The link works for {minutes} minutes; press Transcript again for a new one.',
    'transcript.open': 'Open the transcript',
    'ticket.gone': 'This ticket no longer exists.',
    'ticket.newButton': 'Open a new ticket',
    'ticket.closedNotice':
      'Ticket #{number} is closed, so staff will not see this message here. Open a new ticket to reach them.',
  },
  commands: {},
  choices: {},
} as const;
