import { Perm, requireBotInGuild } from '../access.js';
import { Errors, type FakeContext, noContent, ok, type RestReply, type Route } from '../context.js';
import type { Guild } from '../state.js';

function guildOr404(fake: FakeContext, id: string | undefined): Guild | RestReply {
  const guild = id ? fake.state.guilds.get(id) : undefined;
  return guild ?? Errors.unknownGuild();
}

function highestPosition(guild: Guild, roleIds: string[]): number {
  return Math.max(0, ...roleIds.map((r) => guild.roles.get(r)?.position ?? 0));
}

function memberRoleChange(add: boolean): Route['handler'] {
  return (req, fake) => {
    const guild = guildOr404(fake, req.params['guild_id']);
    if ('status' in guild) return guild;
    const member = guild.members.get(req.params['user_id'] ?? '');
    if (!member) return Errors.unknownMember();
    const role = guild.roles.get(req.params['role_id'] ?? '');
    if (!role || role.id === guild.id) return Errors.unknownRole();
    const refused = requireBotInGuild(fake.state, guild.id, Perm.ManageRoles);
    if (refused) return refused;
    // The bot can only manage roles below its own highest role.
    const bot = guild.members.get(fake.state.botUser.id);
    if (role.managed || role.position >= highestPosition(guild, bot?.roles ?? []))
      return Errors.missingPermissions();
    const has = member.roles.includes(role.id);
    if (add && !has) member.roles.push(role.id);
    if (!add && has) member.roles = member.roles.filter((r) => r !== role.id);
    if (add !== has) {
      fake.gateway.dispatch(guild.id, 'GUILD_MEMBER_UPDATE', {
        guild_id: guild.id,
        ...fake.state.memberPayload(guild.id, member.user_id),
      });
    }
    return noContent();
  };
}

export const guildRoutes: Route[] = [
  {
    method: 'GET',
    template: '/guilds/:guild_id',
    auth: 'bot',
    handler: (req, fake) => {
      const guild = guildOr404(fake, req.params['guild_id']);
      if ('status' in guild) return guild;
      return ok({
        ...fake.state.guildPayload(guild.id),
        ...(req.query.get('with_counts') === 'true'
          ? { approximate_member_count: guild.members.size, approximate_presence_count: 0 }
          : {}),
      });
    },
  },
  {
    method: 'GET',
    template: '/guilds/:guild_id/roles',
    auth: 'bot',
    handler: (req, fake) => {
      const guild = guildOr404(fake, req.params['guild_id']);
      if ('status' in guild) return guild;
      return ok([...guild.roles.values()]);
    },
  },
  {
    method: 'GET',
    template: '/guilds/:guild_id/members/:user_id',
    auth: 'bot',
    handler: (req, fake) => {
      const guild = guildOr404(fake, req.params['guild_id']);
      if ('status' in guild) return guild;
      const member = fake.state.memberPayload(guild.id, req.params['user_id'] ?? '');
      return member ? ok(member) : Errors.unknownMember();
    },
  },
  {
    method: 'PUT',
    template: '/guilds/:guild_id/members/:user_id/roles/:role_id',
    auth: 'bot',
    handler: memberRoleChange(true),
  },
  {
    method: 'DELETE',
    template: '/guilds/:guild_id/members/:user_id/roles/:role_id',
    auth: 'bot',
    handler: memberRoleChange(false),
  },
];
