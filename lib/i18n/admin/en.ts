/**
 * Server admins' and staff's set-up words: `/setup`'s answers and refusals, the mirror context
 * menu's, and what the bot says when Discord refused it for a missing permission (with Discord's
 * own names of the permissions, as its client shows them in each language).
 */
export const enAdmin = {
  // "**A**, **B** and **C**": {rest} is the list before the last one.
  'list.and': '{rest} and {last}',
  'permission.View Channels': 'View Channels',
  'permission.Send Messages': 'Send Messages',
  'permission.Send Messages in Threads': 'Send Messages in Threads',
  'permission.Create Private Threads': 'Create Private Threads',
  'permission.Create Public Threads': 'Create Public Threads',
  'permission.Manage Threads': 'Manage Threads',
  'permission.Manage Channels': 'Manage Channels',
  'permission.Manage Roles': 'Manage Roles',
  'permission.Manage Webhooks': 'Manage Webhooks',
  'permission.Embed Links': 'Embed Links',
  'permission.Attach Files': 'Attach Files',
  'permission.Read Message History': 'Read Message History',
  'permission.Add Reactions': 'Add Reactions',
  'permission.Mention @everyone, @here and All Roles': 'Mention @everyone, @here and All Roles',
  'permission.Manage Messages': 'Manage Messages',
  // Discord refused a call (bot/refusals.ts): 50013 / 50001, a forum that requires a tag (40067).
  'refusal.forumTag':
    'This forum requires a tag on every post, and this ticket category has none. A server admin sets one with `/setup category name:<category> tag:<tag>`.',
  'refusal.missingOneIn':
    "I am missing the Discord permission {names} in {channel}. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.missingOne':
    "I am missing the Discord permission {names}. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.missingManyIn':
    "I am missing the Discord permissions {names} in {channel}. A server admin can give them to my role, or in the channel's permissions, then try again.",
  'refusal.missingMany':
    "I am missing the Discord permissions {names}. A server admin can give them to my role, or in the channel's permissions, then try again.",
  'refusal.neededIn':
    "Discord refused this for a missing permission in {channel}: I need {names} there, and my role must sit above the roles I manage. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.needed':
    "Discord refused this for a missing permission: I need {names} there, and my role must sit above the roles I manage. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.neededSeeIn':
    "Discord refused this for a missing permission in {channel}: I need {names} there and to see the channel, and my role must sit above the roles I manage. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.neededSee':
    "Discord refused this for a missing permission: I need {names} there and to see the channel, and my role must sit above the roles I manage. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.unknownIn':
    "Discord refused this for a missing permission in {channel}. A server admin can give it to my role, or in the channel's permissions, then try again.",
  'refusal.unknown':
    "Discord refused this for a missing permission. A server admin can give it to my role, or in the channel's permissions, then try again.",
  // /setup (bot/commands/setup.ts).
  'setup.inServer': 'Run /setup in your server.',
  'setup.linkAdminOnly': 'Only server admins (Manage Server) can link this server.',
  'setup.linked':
    'This server is now linked to your GameMod organization. Next: `/setup channels`, `/setup role`, `/setup category`, then `/panel`.',
  'setup.ownerOnly':
    'Only the server owner can create a new organization. Others link with `/setup link` and a code from the panel.',
  'setup.created':
    'Created the GameMod organization **{name}**, owned by you, and linked this server. Next: `/setup channels`, `/setup role`, `/setup category`, then `/panel`.',
  'setup.rolesPermission':
    'Mapping roles needs the `roles.manage` permission from your own GameMod membership (link your Discord account in the panel).',
  'setup.permission': 'You need Manage Server on Discord or the `guilds.manage` permission in GameMod.',
  'setup.missingOne':
    "I am missing {names} in {channel}. Give it to my role (or in that channel's permissions), then run this again. Nothing was saved.",
  'setup.missingMany':
    "I am missing {names} in {channel}. Give them to my role (or in that channel's permissions), then run this again. Nothing was saved.",
  'setup.noTag': '{forum} has no tag “{tag}”. Its tags: {names}.',
  'setup.tagsNone': 'none yet',
  'setup.tagRequired':
    '{forum} requires a tag on every post, so its tickets need one: add `tag:` with one of {names}. Nothing was saved.',
  'setup.noChannel': 'Give at least one channel.',
  'setup.channelsSaved': 'Channels saved.',
  'setup.placeThread': '{channel} does not fit the thread mode: use a text channel.',
  'setup.placeForum': '{channel} does not fit the forum mode: use a forum channel.',
  'setup.placeChannel': '{channel} does not fit the channel mode: use a channel category.',
  'setup.forumNeedsChannel': 'Forum mode needs a forum channel.',
  'setup.channelNeedsCategory': 'Channel mode needs a channel category.',
  'setup.tagForumOnly': 'A tag is for forum mode only.',
  'setup.categorySaved': 'Category **{name}** saved ({mode}).',
  'setup.categorySavedIn': 'Category **{name}** saved ({mode} in {channel}).',
  'setup.forumPublic':
    'Note: forum posts are public. Everyone who can see {place} reads every ticket posted there, including what players write. For private tickets, use private threads instead: `/setup category name:{name} mode:private thread channel:<a text channel>`.',
  'setup.theForum': 'the forum',
  'setup.everyoneRole': 'Map a real role, not @everyone.',
  'setup.roleMapped': '{role} now acts as **{key}**.',
  'setup.roleUnmapped': '{role} is no longer mapped.',
  'setup.roleNotMapped': '{role} was not mapped.',
  'setup.noLimits': 'Give max_open or cooldown.',
  'setup.limitsSaved': 'Limits saved.',
  'setup.showSupport': 'Support channel: {channel}',
  'setup.showTranscripts': 'Transcripts: {channel}',
  'setup.showAlerts': 'Alerts: {channel}',
  'setup.notSet': 'not set',
  'setup.showLimits': 'Limits: {max} open per player, {seconds} s cooldown',
  'setup.showRoles': 'Roles: {roles}',
  'setup.noneMapped': 'none mapped',
  // The "Create ticket from message" menu in mirrored channels (bot/commands/mirror-ticket.ts).
  'mirror.notMirrored': 'This channel is not mirrored into GameMod. To report the message, use “{menu}”.',
  'mirror.notRecorded': 'This message could not be recorded.',
  'mirror.opened': 'Opened ticket #{number} from this message. Staff work it in the GameMod inbox.',
  'mirror.already': 'This message is already ticket #{number}.',
  // `/ticket rules` (bot/commands/ticket-rules.ts): a ticket's rule run log, the dry run, a run by hand.
  'rules.logTitle': 'Rule runs on ticket #{number}',
  'rules.logFooter': 'Newest first · page {page}',
  'rules.logFooterMore': 'Newest first · page {page} · older runs follow',
  'rules.logNone': 'No automation rule has run on ticket #{number} yet.',
  'rules.logEnd': 'There are no older rule runs.',
  'rules.eventHeader': 'Event **{trigger}** · {when}',
  'rules.eventHeaderChain': '**{trigger}** · {when} · caused by a rule (depth {depth})',
  'rules.entryApplied': '✅ **{rule}** did: {actions}',
  'rules.entryNotMatched': '▫️ **{rule}** did not match: {reason}',
  'rules.entrySkipped': '⏭️ **{rule}** was skipped: {reason}',
  'rules.entryFailed': '⚠️ **{rule}** failed: {reason}',
  'rules.dryButton': 'Dry run',
  'rules.logButton': 'Run log',
  'rules.newest': 'Newest',
  'rules.older': 'Older',
  'rules.prev': 'Previous',
  'rules.next': 'Next',
  'rules.dryTitle': 'What the rules would do on ticket #{number} now',
  'rules.dryFooter':
    '{matched} of {count} enabled rules match · page {page} of {pages} · nothing was changed',
  'rules.dryNone': 'This organization has no enabled automation rules.',
  'rules.dryMatch': '✅ **{rule}** ({trigger}) would: {actions}',
  'rules.dryNoMatch': '▫️ **{rule}** ({trigger}) would not match: {reason}',
  'rules.runPlaceholder': 'Run a matching rule on this ticket now…',
  'rules.ran': 'Ran **{rule}** on ticket #{number}: {actions}.',
  'rules.ranNoMatch': '**{rule}** does not match ticket #{number} any more, so nothing was done: {reason}',
  'rules.ranFailed': '**{rule}** failed on ticket #{number} and changed nothing: {reason}',
  'rules.ruleNotFound':
    'That rule was not found in this organization. It may have been deleted: open the dry run again.',
  'rules.ruleDisabled': 'That rule is disabled. Enable it in the panel to run it.',
} as const;
