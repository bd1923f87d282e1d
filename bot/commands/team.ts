import { escapeMarkdown, SlashCommandBuilder } from 'discord.js';
import { type RosterMember, type TeamRoster, teamRosters } from '../../db/team-roster.js';
import { inWorkingHours } from '../../db/working-hours.js';
import type { Locale } from '../../lib/i18n/locales.js';
import { type MessageKey, t } from '../../lib/i18n/messages.js';
import { type MemberPresence, presenceOf } from '../../lib/presence.js';
import { requirePermission, resolveWhoThen } from '../auth.js';
import { teamChoices } from '../autocomplete.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';

/**
 * `/team [name]`: who of each team is around (lib/presence.ts), on shift (working hours) and how
 * loaded (open tickets against the team's capacity), so whoever hands out work on Discord sees
 * what the panel shows. Ephemeral, for who may read tickets (as the API's presence list). One
 * message holds it all within Discord's limits: 25 fields of 1,024 characters and 6,000 for the
 * whole embed; members and teams past that are counted ("… and 12 more"), not dropped silently.
 */

const data = new SlashCommandBuilder()
  .setName('team')
  .setDescription('Who of each team is online, on shift, and how many tickets they hold')
  .setDMPermission(false)
  .addStringOption((o) =>
    o.setName('name').setDescription('Only this team').setMaxLength(100).setAutocomplete(true),
  );

const LIMIT = { fields: 25, fieldName: 256, fieldValue: 1024, total: 6000 };
/** Kept free for the footer counting the teams left out. */
const FOOTER_ROOM = 100;
const NAME_CHARS = 64;
const EMOJI = { online: '🟢', away: '🌙', offline: '⚫' } as const;

/** "40 minutes ago" in the asker's language. */
export function ago(locale: Locale, since: Date, now: Date): string {
  const minutes = Math.max(1, Math.round((now.getTime() - since.getTime()) / 60_000));
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'always' });
  if (minutes < 60) return rtf.format(-minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours < 48) return rtf.format(-hours, 'hour');
  return rtf.format(-Math.round(hours / 24), 'day');
}

function memberLine(
  say: (key: MessageKey, params?: Record<string, string | number>) => string,
  m: RosterMember,
  p: MemberPresence | undefined,
  now: Date,
  locale: Locale,
): string {
  const state = p?.state ?? 'offline';
  const presence =
    state === 'online'
      ? say('team.online')
      : state === 'away'
        ? say('team.away')
        : p?.lastSeenAt
          ? say('team.lastSeen', { ago: ago(locale, p.lastSeenAt, now) })
          : say('team.neverSeen');
  const shift = inWorkingHours(m.workingHours, now) ? say('team.onShift') : say('team.offShift');
  const load =
    m.capacity === null
      ? say('team.open', { open: m.open })
      : say('team.openOf', { open: m.open, capacity: m.capacity });
  return `${EMOJI[state]} **${escapeMarkdown(m.displayName.slice(0, NAME_CHARS))}** · ${presence} · ${shift} · ${load}`;
}

/** As many lines as fit in `max` with what is left counted; null when not even one fits. */
export function fitLines(lines: readonly string[], max: number, more: (n: number) => string): string | null {
  let shown = '';
  let best: string | null = null;
  for (const [k, line] of lines.entries()) {
    shown = k === 0 ? line : `${shown}\n${line}`;
    if (shown.length > max) break;
    const rest = lines.length - k - 1;
    const candidate = rest ? `${shown}\n${more(rest)}` : shown;
    if (candidate.length <= max) best = candidate;
  }
  return best;
}

export interface TeamEmbed {
  title: string;
  fields: { name: string; value: string }[];
  footer?: { text: string };
}

/** The teams as one embed within Discord's limits. */
export function teamEmbed(
  locale: Locale,
  teams: readonly TeamRoster[],
  presence: ReadonlyMap<string, MemberPresence>,
  now: Date,
): TeamEmbed {
  const say = (key: MessageKey, params: Record<string, string | number> = {}) => t(locale, key, params);
  const title = say('team.title');
  const fields: TeamEmbed['fields'] = [];
  let used = title.length + FOOTER_ROOM;
  for (const team of teams) {
    if (fields.length === LIMIT.fields) break;
    const online = team.members.filter((m) => presence.get(m.userId)?.state === 'online').length;
    const name = say('team.heading', {
      team: escapeMarkdown(team.name.slice(0, 100)),
      online,
      count: team.members.length,
    }).slice(0, LIMIT.fieldName);
    const room = Math.min(LIMIT.fieldValue, LIMIT.total - used - name.length);
    const lines = team.members.map((m) => memberLine(say, m, presence.get(m.userId), now, locale));
    const value = lines.length
      ? fitLines(lines, room, (count) => say('team.more', { count }))
      : say('team.noMembers');
    if (value === null || value.length > room) break;
    fields.push({ name, value });
    used += name.length + value.length;
  }
  const left = teams.length - fields.length;
  return { title, fields, ...(left ? { footer: { text: say('team.moreTeams', { count: left }) } } : {}) };
}

export const team: CommandHandler = {
  data: data.toJSON(),
  autocomplete: (i, deps) => teamChoices(i, deps),
  ack: 'defer',
  async execute(i, ctx) {
    const name = i.options.getString('name') ?? undefined;
    // The roster is read in the caller's transaction, and only for who may see it.
    const { who, value: teams } = await resolveWhoThen(
      ctx.deps,
      i.guildId,
      personOf(i),
      ctx.requestId,
      {},
      async (tx, who) =>
        who.staff && who.permissions.has('tickets.read') ? teamRosters(tx, name ? { name } : {}) : null,
    );
    requirePermission(who, 'tickets.read');
    const locale = localeOf(i);
    if (!teams?.length) {
      if (name) throw refuse('not_found', 'ticket.noTeam', { name });
      await respond(i, t(locale, 'team.none'));
      return;
    }
    const now = new Date();
    const ids = [...new Set(teams.flatMap((tm) => tm.members.map((m) => m.userId)))];
    // Without Redis nobody's presence is known: everyone reads as never seen rather than failing.
    const presence = ctx.deps.redis
      ? await presenceOf(ctx.deps.redis, who.orgId, ids, now)
      : new Map<string, MemberPresence>();
    await respond(i, { content: '', embeds: [teamEmbed(locale, teams, presence, now)] });
  },
};
