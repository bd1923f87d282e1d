import { type ChatInputCommandInteraction, GuildMember, SlashCommandBuilder } from 'discord.js';
import { findCategoryByName } from '../../db/categories.js';
import { findTeamByName, recordTicketAction } from '../../db/discord-sync.js';
import { withTenant } from '../../db/tenant.js';
import { addNote, assign, claim, setPriority, setStatus, transfer, updateFields } from '../../db/tickets.js';
import { addThreadMember, setMemberAccess } from '../../lib/discord/rest.js';
import { AppError } from '../../lib/errors.js';
import { type MessageKey, t } from '../../lib/i18n/messages.js';
import {
  type DiscordPerson,
  requirePermission,
  resolveWho,
  resolveWhoThen,
  whoAndTicketHere,
} from '../auth.js';
import { categoryChoices } from '../autocomplete.js';
import { requestCloseFromDiscord } from '../close-requests.js';
import { closedText, closeTicketFlow, reopenTicketFlow } from '../closing.js';
import { personOf, removeThreadMember, threadParentOr } from '../discord-api.js';
import { buildForm, categoryByNameForModal, closeReasonModal } from '../forms.js';
import { type CommandHandler, type Ctx, respond } from '../handler.js';
import { notesAnswer } from '../notes.js';
import { localeOf, refuse } from '../say.js';
import { openedText } from '../ticket-text.js';
import { openFromDiscord } from '../tickets.js';
import { rulesAnswer } from './ticket-rules.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

const data = new SlashCommandBuilder()
  .setName('ticket')
  .setDescription('Open and work tickets')
  .setDMPermission(false)
  .addSubcommand((s) =>
    s
      .setName('open')
      .setDescription('Open a ticket')
      .addStringOption((o) =>
        o.setName('category').setDescription('Category name').setMaxLength(100).setAutocomplete(true),
      )
      .addStringOption((o) => o.setName('subject').setDescription('What it is about').setMaxLength(200)),
  )
  .addSubcommand((s) => s.setName('claim').setDescription('Take this ticket'))
  .addSubcommand((s) => s.setName('unclaim').setDescription('Give this ticket back'))
  .addSubcommand((s) =>
    s
      .setName('assign')
      .setDescription('Assign this ticket to a staff member')
      .addUserOption((o) => o.setName('user').setDescription('Staff member').setRequired(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('transfer')
      .setDescription('Move this ticket to another team')
      .addStringOption((o) =>
        o.setName('team').setDescription('Team name').setRequired(true).setMaxLength(100),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('priority')
      .setDescription('Set the priority')
      .addStringOption((o) =>
        o
          .setName('level')
          .setDescription('Priority')
          .setRequired(true)
          .addChoices(...PRIORITIES.map((p) => ({ name: p, value: p }))),
      ),
  )
  .addSubcommandGroup((g) =>
    g
      .setName('tag')
      .setDescription('Tags')
      .addSubcommand((s) =>
        s
          .setName('add')
          .setDescription('Add a tag')
          .addStringOption((o) => o.setName('tag').setDescription('Tag').setRequired(true).setMaxLength(40)),
      )
      .addSubcommand((s) =>
        s
          .setName('remove')
          .setDescription('Remove a tag')
          .addStringOption((o) => o.setName('tag').setDescription('Tag').setRequired(true).setMaxLength(40)),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('note')
      .setDescription('Add an internal note (never shown to the player)')
      .addStringOption((o) => o.setName('text').setDescription('Note').setRequired(true).setMaxLength(4000)),
  )
  .addSubcommand((s) =>
    s
      .setName('add')
      .setDescription('Add someone to this ticket')
      .addUserOption((o) => o.setName('user').setDescription('Member').setRequired(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('remove')
      .setDescription('Remove someone from this ticket')
      .addUserOption((o) => o.setName('user').setDescription('Member').setRequired(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('rename')
      .setDescription('Change the subject')
      .addStringOption((o) =>
        o.setName('subject').setDescription('New subject').setRequired(true).setMaxLength(100),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('status')
      .setDescription('Set the status')
      .addStringOption((o) =>
        o
          .setName('status')
          .setDescription('Status')
          .setRequired(true)
          .addChoices(
            { name: 'open', value: 'open' },
            { name: 'pending (waiting on the player)', value: 'pending' },
            { name: 'on hold', value: 'on_hold' },
            { name: 'solved', value: 'solved' },
          ),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('close')
      .setDescription('Close this ticket')
      .addStringOption((o) => o.setName('reason').setDescription('Why').setMaxLength(500)),
  )
  .addSubcommand((s) =>
    s
      .setName('close-request')
      .setDescription('Ask the player to confirm closing; closes by itself without an answer')
      .addStringOption((o) => o.setName('reason').setDescription('Why it can be closed').setMaxLength(500))
      .addStringOption((o) =>
        o
          .setName('after')
          .setDescription('Wait before closing: 30m, 2h, 3d (server default)')
          .setMaxLength(20),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('notes')
      .setDescription('Read the internal notes (only you see them)')
      .addIntegerOption((o) => o.setName('page').setDescription('Page, newest first').setMinValue(1)),
  )
  .addSubcommand((s) =>
    s
      .setName('rules')
      .setDescription("This ticket's automation rules: run log, dry run, run one (only you see it)"),
  )
  .addSubcommand((s) => s.setName('reopen').setDescription('Reopen this ticket'))
  .addSubcommand((s) => s.setName('info').setDescription('Show this ticket'));

function sub(i: ChatInputCommandInteraction): string {
  const group = i.options.getSubcommandGroup(false);
  return group ? `${group}.${i.options.getSubcommand()}` : i.options.getSubcommand();
}

function personFromOption(i: ChatInputCommandInteraction, name: string): DiscordPerson {
  const user = i.options.getUser(name, true);
  const member = i.options.getMember(name);
  const roleIds = !member
    ? []
    : member instanceof GuildMember
      ? [...member.roles.cache.keys()]
      : member.roles;
  return {
    id: user.id,
    username: user.username,
    globalName: user.globalName,
    avatar: user.avatar,
    roleIds,
    // Discord resolves a member for everyone in the server, so in a server an option without one
    // names someone who is not in it (left, kicked, banned): their roles here are known, none. A
    // membership this server's mapped roles made ends (db/guild-roles.ts); one the org's other
    // linked server made stays, as these are not its roles. The bot is never told that a member
    // left (that needs the privileged GuildMembers intent): this is one of the places it learns.
    rolesKnown: !!member || i.inGuild(),
  };
}

async function run(i: ChatInputCommandInteraction, ctx: Ctx, name: string): Promise<string> {
  const { deps } = ctx;
  const locale = localeOf(i);
  const say = (key: MessageKey, params: Record<string, string | number> = {}) => t(locale, key, params);
  if (name === 'open') {
    const subject = i.options.getString('subject', true).trim();
    if (!subject) throw refuse('validation_failed', 'open.subjectEmpty');
    const catName = i.options.getString('category');
    // The caller and the category in one transaction.
    const { who, value: category } = await resolveWhoThen(
      deps,
      i.guildId,
      personOf(i),
      ctx.requestId,
      {},
      (tx) => (catName ? findCategoryByName(tx, catName) : Promise.resolve(undefined)),
    );
    if (catName && !category) throw refuse('not_found', 'open.noCategory', { name: catName });
    const opened = await openFromDiscord(ctx, {
      guildId: who.guildId,
      channelId: threadParentOr(i),
      interactionId: i.id,
      requester: who.person,
      locale: i.locale ?? i.guildLocale,
      categoryId: category?.id ?? null,
      subject,
      answers: [{ key: 'subject', label: 'Subject', labelKey: 'summary.answerSubject', value: subject }],
    });
    return openedText(opened, locale);
  }
  const { who, ticket } = await whoAndTicketHere(deps, i.guildId, i.channelId, personOf(i), ctx.requestId);
  // The summary (subject, priority, status, who claimed it), the claim notice and bringing an
  // assignee into the thread follow through the workers' discord.ticket_sync job, as for a
  // change made anywhere else: nothing is posted from here after the commit.
  const after = async (text: string) => text;
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(deps.pool, who.orgId, fn);
  const reason = `GameMod: ${name} on ticket #${ticket.number} by ${who.person.username}`;
  switch (name) {
    case 'claim': {
      const actor = requirePermission(who, 'tickets.assign');
      await tx((t) => claim(t, ticket.id, actor));
      return after(say('ticket.claimed', { number: ticket.number }));
    }
    case 'unclaim': {
      const actor = requirePermission(who, 'tickets.assign');
      if (!ticket.assigneeId) throw refuse('invalid_transition', 'ticket.nobodyClaimed');
      await tx((t) => assign(t, { ticketId: ticket.id, assigneeId: null }, actor));
      return after(say('ticket.unclaimed', { number: ticket.number }));
    }
    case 'assign': {
      const actor = requirePermission(who, 'tickets.assign');
      const target = await resolveWho(deps, i.guildId, personFromOption(i, 'user'), ctx.requestId);
      if (!target.staff) throw refuse('validation_failed', 'ticket.notStaff', { user: target.person.id });
      const staffId = target.staff.id;
      await tx((t) => assign(t, { ticketId: ticket.id, assigneeId: staffId }, actor));
      return after(say('ticket.assigned', { number: ticket.number, user: target.person.id }));
    }
    case 'transfer': {
      const actor = requirePermission(who, 'tickets.assign');
      const teamName = i.options.getString('team', true);
      await tx(async (t) => {
        const team = await findTeamByName(t, teamName);
        if (!team) throw refuse('not_found', 'ticket.noTeam', { name: teamName });
        await transfer(t, { ticketId: ticket.id, teamId: team.id }, actor);
      });
      return say('ticket.transferred', { number: ticket.number, team: teamName });
    }
    case 'priority': {
      const actor = requirePermission(who, 'tickets.update');
      const level = i.options.getString('level', true);
      if (!(PRIORITIES as readonly string[]).includes(level))
        throw refuse('validation_failed', 'ticket.unknownPriority', { level });
      await tx((t) =>
        setPriority(t, { ticketId: ticket.id, priority: level as (typeof PRIORITIES)[number] }, actor),
      );
      return after(say('ticket.prioritySet', { level }));
    }
    case 'tag.add':
    case 'tag.remove': {
      const actor = requirePermission(who, 'tickets.update');
      const tag = i.options.getString('tag', true);
      const t2 = await tx((t) =>
        updateFields(
          t,
          { ticketId: ticket.id, ...(name === 'tag.add' ? { addTags: [tag] } : { removeTags: [tag] }) },
          actor,
        ),
      );
      return t2.tags.length ? say('ticket.tags', { tags: t2.tags.join(', ') }) : say('ticket.tagsNone');
    }
    case 'note': {
      const actor = requirePermission(who, 'tickets.note');
      await tx((t) => addNote(t, { ticketId: ticket.id, body: i.options.getString('text', true) }, actor));
      return say('ticket.noteSaved');
    }
    case 'add':
    case 'remove': {
      const actor = requirePermission(who, 'tickets.update');
      const target = i.options.getUser('user', true);
      const channelId = ticket.discordChannelId;
      if (!channelId) throw refuse('bad_request', 'refuse.noChannel');
      if (name === 'remove' && target.id === ticket.requesterDiscordId)
        throw refuse('validation_failed', 'ticket.cannotRemovePlayer');
      if (ticket.discordMode === 'channel')
        await setMemberAccess(deps.client.rest, channelId, target.id, name === 'add', reason);
      else if (name === 'add') await addThreadMember(deps.client.rest, channelId, target.id, reason);
      else await removeThreadMember(deps.client, channelId, target.id, reason);
      await tx((t) =>
        recordTicketAction(
          t,
          ticket.id,
          name === 'add' ? 'ticket.member_added' : 'ticket.member_removed',
          { discordUserId: target.id },
          actor,
        ),
      );
      return say(name === 'add' ? 'ticket.memberAdded' : 'ticket.memberRemoved', { user: target.id });
    }
    case 'rename': {
      const actor = requirePermission(who, 'tickets.update');
      const subject = i.options.getString('subject', true).trim();
      if (!subject || subject.length > 100) throw refuse('validation_failed', 'ticket.subjectLength');
      // The channel name follows through the workers' ticket sync (which waits out Discord's
      // limit of two renames per channel per 10 minutes without holding anyone up).
      await tx((t) => updateFields(t, { ticketId: ticket.id, subject }, actor));
      return after(say('ticket.renamed', { subject }));
    }
    case 'status': {
      const actor = requirePermission(who, 'tickets.update');
      const status = i.options.getString('status', true) as 'open' | 'pending' | 'on_hold' | 'solved';
      await tx((t) => setStatus(t, { ticketId: ticket.id, status }, actor));
      return after(say('ticket.statusSet', { status: status.replace('_', ' ') }));
    }
    case 'close': {
      const { warnings } = await closeTicketFlow(ctx, who, ticket, i.options.getString('reason'));
      return closedText(locale, ticket.number, warnings);
    }
    case 'reopen': {
      const actor = requirePermission(who, 'tickets.close');
      await reopenTicketFlow(ctx, who, ticket, actor);
      return after(say('ticket.reopened', { number: ticket.number }));
    }
    case 'info': {
      if (!who.permissions.has('tickets.read') && ticket.requesterDiscordId !== who.person.id)
        throw refuse('forbidden', 'ticket.readPermission');
      const player = ticket.requesterDiscordId
        ? `<@${ticket.requesterDiscordId}>`
        : (ticket.requesterName ?? say('ticket.playerUnknown'));
      const assignee = say(ticket.assigneeId ? 'ticket.infoAssigned' : 'ticket.infoUnassigned');
      // Status and priority values stay as the panel and the API name them.
      return [
        `**Ticket #${ticket.number}** · ${ticket.subject}`,
        say('ticket.infoStatus', { status: ticket.status.replace('_', ' '), priority: ticket.priority }),
        say('ticket.infoPlayer', { player }),
        ticket.tags.length
          ? `${assignee} · ${say('ticket.infoTags', { tags: ticket.tags.join(', ') })}`
          : assignee,
        say('ticket.infoOpened', {
          when: `<t:${Math.floor(new Date(ticket.createdAt).getTime() / 1000)}:R>`,
        }),
      ].join('\n');
    }
    default:
      // Only a command registered out of step with this code gets here: not worth a translation.
      throw new AppError('bad_request', `Unknown subcommand ${name}.`);
  }
}

export const ticket: CommandHandler = {
  data: data.toJSON(),
  autocomplete: (i, deps) => categoryChoices(i, deps),
  // Without a subject or a reason the answer is a form, which must be the first response.
  ack: {
    selfWithout: [
      { subcommand: 'open', option: 'subject' },
      { subcommand: 'close', option: 'reason' },
    ],
  },
  async execute(i, ctx) {
    const name = sub(i);
    if (!i.deferred && name === 'open') {
      const category = await categoryByNameForModal(
        ctx.deps,
        i.guildId,
        i.options.getString('category'),
        i.createdTimestamp,
      );
      await i.showModal(buildForm(category, localeOf(i)));
      return;
    }
    if (!i.deferred && name === 'close') {
      await i.showModal(closeReasonModal('-', localeOf(i)));
      return;
    }
    if (name === 'notes') return respond(i, await notesAnswer(i, ctx));
    if (name === 'rules') return respond(i, await rulesAnswer(i, ctx));
    if (name === 'close-request') return respond(i, await requestCloseFromDiscord(i, ctx));
    await respond(i, await run(i, ctx, name));
  },
};
