/**
 * What the bot answers staff and players in interactions (refusals, confirmations, forms) and
 * what the workers post for staff into a ticket. Kept apart from the closing and rating texts so
 * each catalog file stays readable; `en.ts` spreads it into the one message table.
 */
export const enReplies = {
  // Failures the handler turns into words (bot/handler.ts).
  'error.notAccepted': 'That is not accepted: {reasons}',
  'error.unavailable':
    'The service is briefly unavailable; please try again in a moment. (request id `{requestId}`)',
  'error.missingPermission':
    "I am missing a Discord permission for this ({detail}). An admin can fix my role's permissions. (request id `{requestId}`)",
  'error.channelGone': "The ticket's channel no longer exists on Discord. (request id `{requestId}`)",
  'error.discordInvalid': 'Discord refused the request as invalid ({detail}). (request id `{requestId}`)',
  'error.discordTrouble': 'Discord is having trouble right now; please try again. (request id `{requestId}`)',
  'error.generic':
    'Something went wrong on our side. Please try again; if it keeps happening, give staff this request id: `{requestId}`',
  'error.nul': 'Text may not contain the NUL character (U+0000); remove it and try again.',
  'error.staleButton': 'This button is not valid any more.',
  // Where and who (bot/auth.ts).
  'refuse.notSetUp':
    'This server is not set up with GameMod yet. A server admin runs `/setup link` (with a code from the panel) or `/setup create` first.',
  'refuse.inServer': 'GameMod commands work in a server, not in direct messages.',
  'refuse.runInTicket': 'Run this inside a ticket thread or channel.',
  'refuse.notTicket': 'This is not a ticket thread or channel. Run it inside a ticket.',
  'refuse.permission':
    'You need the `{permission}` permission for this. Ask an admin to map one of your Discord roles to a GameMod role that has it.',
  'refuse.closePermission':
    'Only staff with the `tickets.close` permission or the ticket’s owner can close it.',
  'refuse.alreadyClosed': 'Ticket #{number} is already closed.',
  'refuse.commentTooLong': 'The comment is too long: at most 1,000 characters.',
  'refuse.reasonTooLong': 'The reason is too long: at most 500 characters.',
  'refuse.ticketGone': 'This ticket no longer exists.',
  'refuse.noChannel': 'This ticket has no Discord channel.',
  // Opening (bot/open-guards.ts, bot/tickets.ts, bot/forms.ts).
  'open.blocked': "You cannot open tickets here. Contact the server's staff if you think this is a mistake.",
  'open.blockedReason':
    "You cannot open tickets here: {reason}. Contact the server's staff if you think this is a mistake.",
  'open.limitOne':
    'You already have 1 open ticket (the limit here is {max}). Please continue in it, or wait until staff close it.',
  'open.limitMany':
    'You already have {open} open tickets (the limit here is {max}). Please continue in one of them, or wait until staff close one.',
  'open.cooldown': 'Please wait {seconds} s before opening another ticket.',
  'open.inProgress': 'Your previous ticket is still being opened; give it a moment.',
  'open.categoryArchived': 'This ticket category is no longer offered.',
  'open.categoryGone': 'This ticket category no longer exists. Ask staff to refresh the panel.',
  'open.formSlow': 'The ticket form took too long to load; please click again.',
  'open.formStale': 'This form is not valid any more.',
  'open.opened': 'Your ticket #{number} is open: {link}',
  'open.alreadyOpened': 'This request already opened ticket #{number}: {link}',
  'open.openedFor': 'Opened ticket #{number} for {who}: {link}',
  'open.alreadyOpenedFor': 'Already opened ticket #{number} for {who}: {link}',
  'open.incomplete':
    'Discord had a hiccup while setting it up; the rest follows in a moment, and staff can already see it.',
  'open.subjectEmpty': 'The subject is empty.',
  'open.noCategory': 'There is no category called “{name}”.',
  'open.botUser': 'Bots cannot have tickets.',
  'open.noForum': 'No forum is set for this category yet. A server admin sets one with `/setup category`.',
  'open.noChannelCategory':
    'No channel category is set for this category yet. A server admin sets one with `/setup category`.',
  'open.noSupportChannel':
    'No support channel is set for this category yet. A server admin sets one with `/setup category`.',
  'open.parentGone':
    'The channel this category opens tickets in no longer exists. A server admin sets a new one with `/setup channels` or `/setup category`.',
  'report.thanks': 'Thanks, staff will look at it in ticket #{number}: {link}',
  'report.already': 'This report is already ticket #{number}: {link}',
  'report.alert': 'New report #{number} by <@{reporter}> about a message by <@{author}>: {link}',
  'form.title': 'Open a ticket',
  'form.titleCategory': 'Open a ticket: {category}',
  'form.subjectLabel': 'What is it about?',
  'form.detailsLabel': 'Tell us more',
  'form.required': 'Please answer “{question}”.',
  'form.tooLong': '“{question}” is too long: at most {max} characters.',
  'form.tooShort': '“{question}” needs at least {min} characters.',
  'form.empty': 'The form was empty.',
  'close.modalTitle': 'Close the ticket',
  'close.reasonLabel': 'Reason (optional)',
  'close.reasonPlaceholder': 'Shown to the player in the closing message',
  // Staff answers to /ticket and the ticket's buttons (bot/commands/ticket.ts, components/actions.ts).
  'ticket.claimed': 'You claimed ticket #{number}.',
  'ticket.unclaimed': 'Ticket #{number} is unassigned again.',
  'ticket.nobodyClaimed': 'Nobody has claimed this ticket.',
  'ticket.notStaff': '<@{user}> is not staff here (none of their roles is mapped).',
  'ticket.assigned': 'Ticket #{number} is assigned to <@{user}>.',
  'ticket.noTeam': 'There is no team called “{name}”.',
  'ticket.transferred': 'Ticket #{number} moved to {team}.',
  'ticket.unknownPriority': 'Unknown priority “{level}”.',
  'ticket.prioritySet': 'Priority set to {level}.',
  'ticket.tags': 'Tags: {tags}',
  'ticket.tagsNone': 'Tags: none',
  'ticket.noteSaved': 'Internal note saved (not shown to the player).',
  'ticket.cannotRemovePlayer': 'The player who opened the ticket cannot be removed from it.',
  'ticket.memberAdded': '<@{user}> was added.',
  'ticket.memberRemoved': '<@{user}> was removed.',
  'ticket.subjectLength': 'A subject is 1 to 100 characters.',
  'ticket.renamed': 'Renamed to “{subject}”.',
  'ticket.statusSet': 'Status set to {status}.',
  'ticket.closed': 'Ticket #{number} closed.',
  'ticket.closedWithNote': 'Ticket #{number} closed. Note: {warnings}.',
  'ticket.reopened': 'Ticket #{number} reopened.',
  'ticket.readPermission': 'You need the `tickets.read` permission for this.',
  'ticket.infoStatus': 'Status: {status} · Priority: {priority}',
  'ticket.infoPlayer': 'Player: {player}',
  'ticket.infoAssigned': 'Assignee: assigned',
  'ticket.infoUnassigned': 'Assignee: nobody',
  'ticket.infoTags': 'Tags: {tags}',
  'ticket.infoOpened': 'Opened {when}',
  'ticket.playerUnknown': 'unknown',
  // Close requests (bot/close-requests.ts).
  'closeRequest.after': '“after” is a wait like 30m, 2h or 3d: from 1 minute to 30 days.',
  'closeRequest.notOnDiscord':
    'The player of ticket #{number} is not on Discord and cannot answer here; close it with `/ticket close`.',
  'closeRequest.asked':
    'Asked <@{player}> to confirm closing ticket #{number}. Without an answer it closes {when}; a reply from them or a reopen withdraws the request.',
  'closeRequest.confirmed': 'Thanks! Ticket #{number} is closed.',
  'closeRequest.declined':
    'Got it: ticket #{number} stays open, and staff have been told you still need help.',
  // Replies, tags, panels, notes, stats.
  'reply.sent': 'Reply sent.',
  'reply.empty': 'Give a canned reply or some text.',
  'reply.closed': 'Ticket #{number} is closed; reopen it first.',
  'reply.tooLong': 'The reply is too long for Discord: at most 2,000 characters.',
  'tag.sent': 'Sent `{name}`.',
  'tag.none': 'No canned replies yet. Staff add them in the panel.',
  'panel.posted': 'Panel posted.',
  'panel.permission': 'You need Manage Server on Discord or the `categories.manage` permission.',
  'panel.noCategories': 'There are no ticket categories yet. Add one with `/setup category`.',
  'panel.tooMany': 'A panel offers at most 25 categories; archive some first.',
  'notes.none': 'Ticket #{number} has no internal notes.',
  'notes.pageOne': 'There is 1 page of notes; ask for page 1.',
  'notes.pages': 'There are {pages} pages of notes; ask for page 1 to {pages}.',
  'notes.title': 'Internal notes · ticket #{number}',
  'notes.footer': 'Page {page} of {pages} · {count} notes, newest first · only you can see this',
  'notes.footerOne': 'Page {page} of {pages} · 1 note · only you can see this',
  'stats.staffOnly': '/stats is for staff: none of your roles is mapped to a GameMod role.',
  // Posted by the workers into the ticket (workers/ticket-sync*.ts, workers/close-requests.ts).
  'sync.claimed': '<@{user}> is taking care of this ticket.',
  'sync.reopened': 'Ticket reopened.',
  'sync.reopenedBy': 'Ticket reopened by {name}.',
  'closeRequest.yes': 'Yes, close it',
  'closeRequest.no': 'No, I still need help',
  'closeRequest.ask': '{who} thinks this ticket can be closed.',
  'closeRequest.askReason': '{who} thinks this ticket can be closed: {reason}',
  'closeRequest.askDue': 'Can we close it? Without an answer it closes {when}; writing here keeps it open.',
  'closeRequest.staff': 'Staff',
  'closeRequest.thePlayer': 'The player',
  'closeRequest.outcomeConfirmed': 'Close request: {player} confirmed, and the ticket was closed.',
  'closeRequest.outcomeDeclined': 'Close request: {player} still needs help; the ticket stays open.',
  'closeRequest.outcomeTimedOut': 'Close request: no answer in time, so the ticket was closed.',
  'closeRequest.withdrawnReplied': 'Close request withdrawn: {player} replied.',
  'closeRequest.withdrawnReopened': 'Close request withdrawn: the ticket was reopened.',
  'closeRequest.withdrawnClosed': 'Close request withdrawn: the ticket was closed.',
  'closeRequest.declinedNotice': '{player} declined the close request: they still need help.',
} as const;
