import { z } from 'zod';
import { Errors, ok, type Route } from '../context.js';
import { parse } from './common.js';

export const miscRoutes: Route[] = [
  {
    method: 'GET',
    template: '/gateway',
    auth: 'none',
    handler: (_req, fake) => ok({ url: fake.gateway.url() }),
  },
  {
    method: 'GET',
    template: '/gateway/bot',
    auth: 'bot',
    handler: (_req, fake) =>
      ok({
        url: fake.gateway.url(),
        shards: fake.options.shards,
        session_start_limit: { ...fake.options.sessionStartLimit },
      }),
  },
  {
    method: 'GET',
    template: '/applications/@me',
    auth: 'bot',
    handler: (_req, fake) =>
      ok({
        id: fake.state.applicationId,
        name: fake.state.botUser.username,
        icon: null,
        description: '',
        summary: '',
        type: null,
        bot_public: true,
        bot_require_code_grant: false,
        verify_key: '0'.repeat(64),
        flags: 0,
        bot: fake.state.userPayload(fake.state.botUser),
        owner: fake.state.userPayload(fake.state.botUser),
        team: null,
        approximate_guild_count: fake.state.guilds.size,
        redirect_uris: fake.options.redirectUris,
        interactions_endpoint_url: null,
        tags: [],
      }),
  },
  {
    method: 'GET',
    template: '/users/@me',
    auth: 'bot-or-bearer',
    handler: (req, fake) => {
      if (!req.bearer)
        return ok({ ...fake.state.userPayload(fake.state.botUser), verified: true, mfa_enabled: false });
      if (!req.bearer.scopes.includes('identify')) return Errors.unauthorized();
      const user = fake.state.users.get(req.bearer.userId);
      if (!user) return Errors.unknownUser();
      const withEmail = req.bearer.scopes.includes('email');
      return ok({
        ...fake.state.userPayload(user),
        locale: user.locale ?? 'en-US',
        mfa_enabled: false,
        premium_type: 0,
        ...(withEmail ? { email: user.email ?? null, verified: user.verified ?? true } : {}),
      });
    },
  },
  {
    method: 'POST',
    template: '/users/@me/channels',
    auth: 'bot',
    handler: (req, fake) => {
      const parsed = parse(z.object({ recipient_id: z.string().regex(/^\d{17,20}$/) }), req.body);
      if (!parsed.ok) return parsed.reply;
      const to = parsed.data.recipient_id;
      if (!fake.state.users.has(to)) return Errors.unknownUser();
      return ok(fake.state.channelPayload(fake.state.openDm(to)));
    },
  },
  {
    method: 'GET',
    template: '/users/@me/guilds',
    auth: 'bot-or-bearer',
    handler: (req, fake) => {
      const userId = req.bearer ? req.bearer.userId : fake.state.botUser.id;
      if (req.bearer && !req.bearer.scopes.includes('guilds')) return Errors.unauthorized();
      // Discord pages the list by id: `after` (or `before`) a guild id, `limit` 1–200 (default 200).
      const limit = Number(req.query.get('limit') ?? 200);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        return Errors.invalidFormBody({
          limit: {
            _errors: [{ code: 'NUMBER_TYPE_MAX', message: 'int value should be less than or equal to 200.' }],
          },
        });
      const after = BigInt(req.query.get('after') ?? 0);
      const before = req.query.get('before') ? BigInt(req.query.get('before') ?? 0) : null;
      const guilds = [...fake.state.guilds.values()]
        .filter(
          (g) => g.members.has(userId) && BigInt(g.id) > after && (before === null || BigInt(g.id) < before),
        )
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .slice(0, limit);
      return ok(
        guilds.map((g) => ({
          id: g.id,
          name: g.name,
          icon: null,
          banner: null,
          owner: g.owner_id === userId,
          permissions: fake.state.memberPermissions(g.id, userId),
          features: [],
          ...(req.query.get('with_counts') === 'true'
            ? { approximate_member_count: g.members.size, approximate_presence_count: 0 }
            : {}),
        })),
      );
    },
  },
  {
    // A person's own member object in a server, read with their OAuth token (never the bot's).
    method: 'GET',
    template: '/users/@me/guilds/:guild_id/member',
    auth: 'bot-or-bearer',
    handler: (req, fake) => {
      if (!req.bearer?.scopes.includes('guilds.members.read')) return Errors.unauthorized();
      const guild = fake.state.guilds.get(req.params['guild_id'] ?? '');
      if (!guild?.members.has(req.bearer.userId)) return Errors.unknownGuild();
      return ok(fake.state.memberPayload(guild.id, req.bearer.userId));
    },
  },
  {
    method: 'GET',
    template: '/users/:user_id',
    auth: 'bot',
    handler: (req, fake) => {
      const user = fake.state.users.get(req.params['user_id'] ?? '');
      return user ? ok(fake.state.userPayload(user)) : Errors.unknownUser();
    },
  },
];
