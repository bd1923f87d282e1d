/**
 * What the bot and the workers post on their own, with no interaction to answer: the ticket's
 * summary (the server's language: staff read it, and it is redrawn by the workers), a panel's
 * defaults and select, the transcript notice and the DM relay's warning (the server's), and
 * modmail's answers to a player's DMs (the player's language as last seen, else the server's).
 */
export const enPosts = {
  // The ticket's summary message (bot/ticket-text.ts, lib/discord/components.ts).
  'summary.openedBy': '(opened by {user})',
  'summary.category': 'Category: **{name}**',
  'summary.staffAnswer': 'Staff will answer here. Write below to add details or screenshots.',
  'summary.viaDm':
    'Opened by direct message: the player is not in this thread. Their DMs appear here, and what staff write here reaches them by DM (`/ticket note` stays internal).',
  'summary.reported': 'Reported message',
  'summary.reportedBy': 'by {author} · [jump to message]({url})',
  // Field names for answers GameMod itself asks (the default form, /ticket open, the menus).
  'summary.answerSubject': 'Subject',
  'summary.answerMessage': 'Message text',
  'summary.answerOpenedBy': 'Opened by staff',
  'summary.priority': 'Priority: {priority}',
  'summary.footer': 'Priority: {priority} · Status: {status}',
  'summary.footerClaimed': 'Priority: {priority} · Status: {status} · Claimed by {name}',
  'summary.claim': 'Claim',
  'summary.close': 'Close',
  'summary.setPriority': 'Set the priority',
  'priority.low': 'Low',
  'priority.normal': 'Normal',
  'priority.high': 'High',
  'priority.urgent': 'Urgent',
  'status.open': 'open',
  'status.pending': 'pending',
  'status.on_hold': 'on hold',
  'status.solved': 'solved',
  'status.closed': 'closed',
  // A ticket panel (lib/discord/panels.ts): the defaults /panel posts, and its select.
  'panel.defaultTitle': 'Need help?',
  'panel.defaultText': 'Pick a topic below to open a private ticket with our team.',
  'panel.chooseTopic': 'Choose a topic',
  // The transcript channel's notice (workers/ticket-sync-steps.ts).
  'transcript.closedBy': 'Closed by {name}',
  'transcript.closedByReason': 'Closed by {name}: {reason}',
  'transcript.closedAuto': 'Closed automatically',
  'transcript.closedAutoReason': 'Closed automatically: {reason}',
  'transcript.link': 'Transcript: {url}',
  // The DM relay's warning in a modmail ticket's thread (workers/dm-relay.ts).
  'relay.dmRefused':
    '⚠️ Replies are not reaching {player}: Discord refuses my direct messages to them (their DMs are closed, or we no longer share a server). Each new reply is tried once; you will be told here again if it fails after one gets through.',
  // Modmail: answers to a player's DMs (bot/events/direct-messages.ts, bot/dm-open.ts).
  'dm.nul': 'Messages may not contain the NUL character (U+0000); send it again without it.',
  'dm.busy': 'Lots of players are writing right now, please send your message again in a minute.',
  'dm.tooFast': 'You are sending messages faster than I can take them. Wait a minute, then send again.',
  'dm.chooseFirst': 'Please choose a server and category above first; then write again.',
  'dm.keeping': 'I am keeping this with your first message: choose a server and category above to send them.',
  'dm.noSharedServer':
    'I could not find a server we share that takes tickets through me. Open a ticket from the server instead.',
  'dm.whichServer': 'Which server is your message for? Choose below; what you wrote is kept until then.',
  'dm.chooseServer': 'Choose a server',
  'dm.whichCategory': 'What is your message to **{server}** about?',
  'dm.chooseCategory': 'Choose a category',
  'dm.opened':
    'Your ticket #{number} with **{server}** is open. Staff will answer here; anything you send in this DM is added to it.',
  'dm.alreadyOpened': 'Your message already opened ticket #{number} with **{server}**; keep writing here.',
  'dm.expiredChoice': 'Your message has expired (15 minutes). Send it again to open a ticket.',
  'dm.whichTicket':
    'You have open tickets with more than one team here. Which one is this message for? Choose below; what you wrote is kept until then.',
  'dm.chooseTicket': 'Choose a ticket',
  'dm.sentTo': 'Sent to ticket #{number} with **{org}**.',
  'dm.expiredAnswer':
    'Your message has expired (15 minutes). Send it again, or reply to the message you are answering.',
  'dm.chooseTicketFirst': 'Please choose above which ticket your messages are for first; then write again.',
  // Stored subjects the bot writes at opening, in the server's language (bot/commands/context-menus.ts),
  // and a game report's (db/report-fold.ts, through reportSubject in lib/i18n/subjects.ts).
  'subject.ticketFor': 'Ticket for {name}',
  'subject.reportMessage': 'Report: a message by {name}',
  'subject.reportPlayer': 'Report: {name} ({reason})',
  // The reported message's link in a report's first message, stored with the ticket (bot/tickets.ts).
  'opening.reportedMessage': 'Reported message: {url}',
  'reportReason.cheating': 'cheating',
  'reportReason.exploiting': 'exploiting',
  'reportReason.harassment': 'harassment',
  'reportReason.hate_speech': 'hate speech',
  'reportReason.threats': 'threats',
  'reportReason.spam': 'spam',
  'reportReason.scam': 'scam',
  'reportReason.griefing': 'griefing',
  'reportReason.inappropriate_name': 'inappropriate name',
  'reportReason.inappropriate_content': 'inappropriate content',
  'reportReason.impersonation': 'impersonation',
  'reportReason.real_money_trading': 'real money trading',
  'reportReason.underage': 'underage',
  'reportReason.self_harm': 'self harm',
  'reportReason.other': 'other',
  // A forum post's first message, which names and pings the player and staff before the summary
  // is edited into it (bot/tickets.ts).
  'opening.forumPost': 'New ticket for {user}',
  // The transcript page (lib/discord/transcript.ts).
  'transcriptPage.requester': 'Requester: {name}',
  'transcriptPage.unknown': 'unknown',
  'transcriptPage.opened': 'opened {when}',
  'transcriptPage.closed': 'closed {when}',
  'transcriptPage.closedBy': 'closed {when} by {name}',
  'transcriptPage.reason': 'reason: {reason}',
  'transcriptPage.system': 'System',
  'transcriptPage.author.user': 'staff',
  'transcriptPage.author.player': 'player',
  'transcriptPage.author.system': 'system',
  'transcriptPage.author.bot': 'bot',
  'transcriptPage.origin.panel': 'web panel',
  'transcriptPage.origin.email': 'email',
  'transcriptPage.origin.game': 'in game',
  'transcriptPage.edited': '(edited)',
  'transcriptPage.size': '({size} bytes)',
  'transcriptPage.sizeNotKept': '({size} bytes, not kept)',
  'transcriptPage.live': 'Attachments and the latest copy: {link} (staff sign-in).',
  'transcriptPage.liveLink': 'the web transcript',
  'transcriptPage.empty': 'No messages.',
  // Staff notifications (workers/notifications.ts): the DM in the member's language; the panel's
  // and the mail's copy are the English text.
  'notify.assigned': 'Ticket #{number} is yours',
  'notify.newInQueue': "New ticket #{number} in your team's queue",
  'notify.movedToQueue': "Ticket #{number} moved to your team's queue",
  'notify.mentioned': 'You were mentioned on ticket #{number}',
  'notify.playerReplied': 'The player replied on ticket #{number}',
  'notify.slaWarning': 'SLA warning on ticket #{number}',
  'notify.slaBreached': 'SLA breached on ticket #{number}',
  'notify.slaOverdue': '{metric} is overdue: {subject}',
  'notify.slaDue': '{metric} due {when}: {subject}',
  'notify.slaDueSoon': '{metric} due soon: {subject}',
  'notify.rule': 'Rule "{name}" on ticket #{number}',
  'sla.first_response': 'first response',
  'sla.next_response': 'next response',
  'sla.resolution': 'resolution',
  // A rule's canned reply on a ticket that lacks what the reply names: the player's name (not known
  // yet, or erased) and the category (none chosen); the player never reads a raw placeholder.
  'canned.playerFallback': 'player',
  'canned.categoryFallback': 'general',
} as const;
