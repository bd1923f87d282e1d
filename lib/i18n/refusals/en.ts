/**
 * Refusals raised in db/ that reach people through the bot: db/ throws them by key
 * (`lib/i18n/refusal.ts`), the API and the logs read the English message below, and the bot
 * shows the key in the asker's language. The English must stay as the API has always said it.
 * Values filled in (a status, a permission key, a role key) are shown as they are named.
 */
export const enRefusals = {
  'deny.ticketNotFound': 'ticket not found',
  'deny.staffOnly': 'only staff can do this',
  'deny.merged': 'this ticket was merged into another ticket',
  'deny.closedReply': 'ticket #{number} is closed; reopen it before replying',
  'deny.statusStaffOnly': 'only staff can set the status',
  'deny.transition': 'cannot change status from {from} to {to}',
  'deny.closedAssign': 'ticket #{number} is closed; reopen it before assigning it',
  'deny.assigneeNotMember': 'the assignee is not a member of this organization',
  'deny.assigneeDisabled': 'the assignee cannot work tickets: their account is disabled',
  'deny.assigneeCannotWork': 'the assignee cannot work tickets: their role lacks {permissions}',
  'deny.claimStaffOnly': 'only a staff member can claim a ticket',
  'deny.playerCloseOwn': 'players can only close their own tickets',
  'deny.notReopenable': 'ticket #{number} is {status}, not solved or closed',
  'deny.tooManyTags': 'a ticket holds at most 50 tags',
  'deny.alreadyRated': 'ticket #{number} was already rated',
  'deny.rateWhenDone': 'a ticket can be rated once it is solved or closed',
  'deny.cannedUnknown': 'no canned reply "{name}"',
  'deny.guildNotLinked': 'this server is not linked to the organization',
  'deny.guildCodeUnknown': 'this link code is unknown, used or expired',
  'deny.guildLinkedElsewhere': 'this server is already linked to another organization',
  'deny.guildAlreadyLinked': 'this server is already linked to an organization',
  'deny.playerCodeUnknown': 'that link code is unknown, used or expired',
  'deny.gameAccountLinkedElsewhere':
    'that game account is already linked to another Discord account; a link code never moves it (staff can unlink it first)',
  'deny.discordLinkedElsewhere':
    'this Discord account is already linked to another game account of this game; a link code never replaces it (staff can unlink it first)',
  'deny.noRole': 'no role "{key}" in this organization',
  'deny.discordOwner': 'a Discord role cannot make anyone an owner: owners are added in the panel',
  'deny.ownerOnlyGrant': 'only an owner can make someone an owner',
  'deny.ownerOnlyUnmap': 'only an owner can unmap the owner role',
  'deny.grantNotHeldOne': "you can't grant {list}: you don't hold it",
  'deny.grantNotHeldMany': "you can't grant {list}: you don't hold them",
  'deny.unmapNotHeld': "you can't change this mapping: its role carries {list}, which you don't hold",
  'deny.closeRequestNoPlayer': 'Ticket #{number} has no player to ask.',
  'deny.closeRequestPending':
    "A close request for ticket #{number} is already waiting for the player's answer.",
  'deny.closeRequestGone': 'This close request no longer exists.',
  'deny.closeRequestOnlyPlayer': 'Only the player who opened ticket #{number} can answer this.',
  'deny.closeRequestConfirmed': 'This close request was already confirmed.',
  'deny.closeRequestDeclined': 'This close request was already declined.',
  'deny.closeRequestTimedOut': 'This close request ran out of time.',
  'deny.closeRequestCancelled': 'This close request was cancelled.',
} as const;
