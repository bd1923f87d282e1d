import { Errors, type FakeContext, ok, type RestReply, type RestRequest, type Route } from '../context.js';
import { commandListSchema, commandSchema } from '../limits.js';
import { snowflake } from '../snowflake.js';
import type { Json } from '../state.js';
import { parse } from './common.js';

function normalise(fake: FakeContext, c: Json, guildId: string | null, existing: Json[]): Json {
  const type = typeof c['type'] === 'number' ? c['type'] : 1;
  const prior = existing.find((e) => e['name'] === c['name'] && (e['type'] ?? 1) === type);
  return {
    id: typeof prior?.['id'] === 'string' ? prior['id'] : snowflake(),
    application_id: fake.state.applicationId,
    version: snowflake(),
    default_member_permissions: null,
    type,
    name: c['name'],
    name_localizations: null,
    description: c['description'] ?? '',
    description_localizations: null,
    options: c['options'] ?? [],
    dm_permission: true,
    contexts: null,
    integration_types: [0],
    nsfw: false,
    ...c,
    ...(guildId ? { guild_id: guildId } : {}),
  };
}

function scope(req: RestRequest, fake: FakeContext): { list: Json[]; guildId: string | null } | RestReply {
  if (req.params['application_id'] !== fake.state.applicationId) return Errors.missingAccess();
  const guildId = req.params['guild_id'] ?? null;
  if (guildId === null) return { list: fake.state.globalCommands, guildId };
  if (!fake.state.guilds.has(guildId)) return Errors.unknownGuild();
  let list = fake.state.guildCommands.get(guildId);
  if (!list) {
    list = [];
    fake.state.guildCommands.set(guildId, list);
  }
  return { list, guildId };
}

function routesFor(base: string): Route[] {
  return [
    {
      method: 'GET',
      template: base,
      auth: 'bot',
      handler: (req, fake) => {
        const s = scope(req, fake);
        return 'status' in s ? s : ok(s.list);
      },
    },
    {
      method: 'PUT',
      template: base,
      auth: 'bot',
      handler: (req, fake) => {
        const s = scope(req, fake);
        if ('status' in s) return s;
        const parsed = parse(commandListSchema, req.body);
        if (!parsed.ok) return parsed.reply;
        const next = parsed.data.map((c) => normalise(fake, c, s.guildId, s.list));
        s.list.splice(0, s.list.length, ...next);
        return ok(next);
      },
    },
    {
      method: 'POST',
      template: base,
      auth: 'bot',
      handler: (req, fake) => {
        const s = scope(req, fake);
        if ('status' in s) return s;
        const parsed = parse(commandSchema, req.body);
        if (!parsed.ok) return parsed.reply;
        const cmd = normalise(fake, parsed.data, s.guildId, s.list);
        const i = s.list.findIndex((c) => c['id'] === cmd['id']);
        if (i >= 0) s.list[i] = cmd;
        else s.list.push(cmd);
        return ok(cmd, i >= 0 ? 200 : 201);
      },
    },
    {
      method: 'DELETE',
      template: `${base}/:command_id`,
      auth: 'bot',
      handler: (req, fake) => {
        const s = scope(req, fake);
        if ('status' in s) return s;
        const i = s.list.findIndex((c) => c['id'] === req.params['command_id']);
        if (i < 0) return Errors.unknownCommand();
        s.list.splice(i, 1);
        return { status: 204 };
      },
    },
  ];
}

export const commandRoutes: Route[] = [
  ...routesFor('/applications/:application_id/commands'),
  ...routesFor('/applications/:application_id/guilds/:guild_id/commands'),
];
