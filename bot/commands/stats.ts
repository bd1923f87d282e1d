import { SlashCommandBuilder } from 'discord.js';
import { type DeskStats, deskStats } from '../../db/discord-sync.js';
import { withTenant } from '../../db/tenant.js';
import { resolveWho } from '../auth.js';
import { personOf } from '../discord-api.js';
import { type CommandHandler, respond } from '../handler.js';
import { refuse } from '../say.js';

const data = new SlashCommandBuilder()
  .setName('stats')
  .setDescription('Your and this server’s ticket figures (last 30 days)')
  .setDMPermission(false);

export function duration(s: number | null): string {
  if (s === null) return 'n/a';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

const line = (label: string, s: DeskStats) =>
  `**${label}**: ${s.open} open · first response median ${duration(s.firstResponseMedianS)} · resolution median ${duration(s.resolutionMedianS)} · ${s.closedInPeriod} closed`;

export const stats: CommandHandler = {
  data: data.toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    if (!who.staff) throw refuse('forbidden', 'stats.staffOnly');
    const staffId = who.staff.id;
    const lines = await withTenant(ctx.deps.pool, who.orgId, async (tx) => {
      const out = [line('You', await deskStats(tx, { assigneeId: staffId }))];
      if (who.permissions.has('analytics.read'))
        out.push(line('This server', await deskStats(tx, { guildId: who.guildId })));
      return out;
    });
    await respond(i, lines.join('\n'));
  },
};
