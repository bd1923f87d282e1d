import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listMembers } from '../../db/memberships.js';
import { inWorkingHours, listWorkingHours } from '../../db/working-hours.js';
import { AppError } from '../../lib/errors.js';
import { choosePresence, type MemberPresence, PRESENCE_TTL_S, presenceOf } from '../../lib/presence.js';
import { errorResponses, orgParams } from './schemas.js';

const memberPresenceSchema = z
  .object({
    userId: z.uuid(),
    displayName: z.string(),
    state: z.enum(['online', 'away', 'offline']).meta({
      description: `online: active within the last ${PRESENCE_TTL_S} s; away: active, but chose Away; offline: not seen for ${PRESENCE_TTL_S} s`,
    }),
    lastSeenAt: z.date().nullable().meta({
      description: 'the last activity seen (panel, Discord, API); null when never seen in the last 30 days',
    }),
    chosen: z
      .enum(['away'])
      .nullable()
      .meta({ description: "'away' when the member chose Away (kept until they choose Online)" }),
    inWorkingHours: z.boolean().meta({
      description: "whether now falls in the member's working hours (always true for a member without hours)",
    }),
  })
  .meta({ id: 'MemberPresence' });
const P = ['members'];

const shape = (p: MemberPresence | undefined, userId: string, displayName: string, atWork: boolean) => ({
  userId,
  displayName,
  state: p?.state ?? ('offline' as const),
  lastSeenAt: p?.lastSeenAt ?? null,
  chosen: p?.chosen ?? null,
  inWorkingHours: atWork,
});

/** Who of the org's staff is at work (lib/presence.ts), and the member's own Online/Away choice. */
export const presenceRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/orgs/:orgId/presence',
    {
      // Whoever works tickets sees who is around to hand one to.
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: P,
        operationId: 'listPresence',
        summary: "Each member's presence: online, away or offline, and when last seen",
        description:
          'Members of the organization only. Presence comes from activity (an open panel, Discord ' +
          'interactions and messages in ticket threads, API calls with a session) and from the ' +
          "member's own choice (PUT .../presence/me). Changes are pushed on the live socket to " +
          'clients following the org (`staff-presence` messages).',
        params: orgParams,
        response: { 200: z.object({ members: z.array(memberPresenceSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const now = new Date(app.settings.now());
      const [members, hours] = await req.inOrg(
        async (tx) => [await listMembers(tx), await listWorkingHours(tx)] as const,
      );
      const presence = await presenceOf(
        app.deps.redis,
        req.params.orgId,
        members.map((m) => m.userId),
        now,
      );
      return {
        members: members.map((m) =>
          shape(
            presence.get(m.userId),
            m.userId,
            m.displayName,
            inWorkingHours(hours.get(m.userId) ?? null, now),
          ),
        ),
      };
    },
  );

  app.put(
    '/v1/orgs/:orgId/presence/me',
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: P,
        operationId: 'setMyPresence',
        summary: 'Choose Online or Away for yourself',
        description:
          'Away sticks, through any activity, until you choose Online; a member who is away is not ' +
          'picked by automatic assignment. Not audited (it changes no data). For people: a token ' +
          'that acts for nobody is refused.',
        params: orgParams,
        body: z.object({ state: z.enum(['online', 'away']) }),
        response: { 200: memberPresenceSchema, ...errorResponses },
      },
    },
    async (req) => {
      const auth = req.auth;
      const userId = auth?.kind === 'session' ? auth.userId : (auth?.userId ?? null);
      if (!userId) throw new AppError('forbidden', 'presence is for people: this token acts for nobody');
      await choosePresence(app.deps.redis, req.params.orgId, userId, req.body.state);
      const [members, hours] = await req.inOrg(
        async (tx) => [await listMembers(tx), await listWorkingHours(tx)] as const,
      );
      const me = members.find((m) => m.userId === userId);
      const now = new Date(app.settings.now());
      const presence = await presenceOf(app.deps.redis, req.params.orgId, [userId], now);
      return shape(
        presence.get(userId),
        userId,
        me?.displayName ?? '',
        inWorkingHours(hours.get(userId) ?? null, now),
      );
    },
  );
};
