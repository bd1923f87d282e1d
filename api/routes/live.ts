import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { permissionsForScopes } from '../../db/api-tokens.js';
import { memberAccess } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { getTicket } from '../../db/tickets.js';
import { AppError } from '../../lib/errors.js';
import { memberTopic, orgTopic, ticketTopic } from '../../lib/live.js';
import type { Logger } from '../../lib/logger.js';
import { touchPresence } from '../../lib/presence.js';
import { resolveBearer } from '../bearer.js';
import { cookieOf } from '../cookies.js';
import { type LiveClient, LiveHub } from '../live-hub.js';
import { SESSION_COOKIE, sessionTimes } from '../plugins/auth.js';
import { readSession } from '../sessions.js';

const clientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribe'),
    orgId: z.uuid(),
    /** Omit for the org's whole inbox. */
    ticketId: z.uuid().optional(),
    /** The caller's own notifications in the org instead (people only). */
    notifications: z.literal(true).optional(),
    /** The last sequence number seen on this topic: what came after it is sent first. */
    after: z.number().int().min(0).optional(),
  }),
  z.object({
    type: z.literal('unsubscribe'),
    orgId: z.uuid(),
    ticketId: z.uuid().optional(),
    notifications: z.literal(true).optional(),
  }),
  z.object({
    type: z.literal('presence'),
    orgId: z.uuid(),
    ticketId: z.uuid(),
    state: z.enum(['viewing', 'typing', 'left']),
  }),
  z.object({ type: z.literal('ping') }),
]);

/**
 * How often an open socket checks that its session or token still stands (logout, expiry, and a
 * revocation whose live event was lost all end live updates too).
 */
const SESSION_CHECK_MS = 30_000;

/** How long a socket gets at shutdown to answer the close frame before it is cut. */
const SHUTDOWN_GRACE_MS = 1000;

/**
 * Ends every socket when the app closes. The plugin's own preClose sends a close frame without a
 * code (the client sees 1005) and leaves the socket until the peer answers it; a peer that is
 * gone but whose TCP connection is not (a sleeping laptop, a browser torn down mid-frame) never
 * answers, and the HTTP server's close waits for that socket for ws's 30 s close timeout or
 * longer: `app.close()` hung. Here new upgrades are refused first (503), each open socket is told
 * 1001 going away, and whatever has not finished its close handshake within the grace is cut.
 */
async function closeAllSockets(wss: WebSocketServer): Promise<void> {
  wss.close();
  const open = [...wss.clients];
  const closed = open.map((s) => (s.readyState === s.CLOSED ? Promise.resolve() : once(s, 'close')));
  for (const s of open) s.close(1001, 'server shutting down');
  const grace = new AbortController();
  await Promise.race([
    Promise.all(closed),
    sleep(SHUTDOWN_GRACE_MS, undefined, { signal: grace.signal }),
  ]).catch(() => {});
  grace.abort();
  for (const s of open) if (s.readyState !== s.CLOSED) s.terminate();
}

/**
 * Closes the connection of an upgrade request that was answered over HTTP instead of becoming a
 * WebSocket. Node hands an upgrade request's socket to the `upgrade` listener and never manages
 * it again; @fastify/websocket sends every upgrade through the router, and only its own routes
 * close the socket after an HTTP answer (a refusal by a hook). Any other route (`/`, `/health`, an
 * unknown path's 404, `/v1/live` itself in an app built without live updates, as the panel
 * benchmark builds it) answered and left the socket open for ever: a leak per request, and once
 * the client had gone (a closed browser, its side shut, ours never) `app.close()` waited on it
 * without end. Registered on the root instance (api/app.ts) so it covers every route; a socket
 * that did become a WebSocket never gets here (its answer is hijacked, never finished).
 */
export function closeAnsweredUpgrades(app: FastifyInstance): void {
  app.addHook('onResponse', (req, _reply, done) => {
    // node sets `upgrade` on the request it emits as an upgrade (its types leave it out).
    if ((req.raw as { upgrade?: boolean }).upgrade === true) req.raw.socket.destroySoon();
    done();
  });
}

/**
 * `GET /v1/live`: a WebSocket for the panel, authenticated by the session cookie, or for an
 * integration, by an API token (`Authorization: Bearer`) whose scopes read tickets. With a cookie
 * the origin must be the panel's (a cross-site page can't ride the cookie); a bearer token is not
 * sent by browsers on their own, so no origin is asked of it. Messages are JSON; see the README
 * of api/ for the protocol: subscribe/unsubscribe to an org's inbox or one ticket (with `after` to
 * fill a gap), presence (people only), ping.
 */
export const liveRoutes: FastifyPluginAsync = async (app) => {
  await app.register(websocket, {
    options: { maxPayload: 16 * 1024 },
    preClose: () => closeAllSockets(app.websocketServer),
  });
  if (!app.liveSubscriber) return;
  const hub = new LiveHub(app.deps.redis, app.liveSubscriber, app.log as Logger, app.settings.now);
  await hub.start();
  app.addHook('onClose', () => hub.stop());
  const allowedOrigin = new URL(app.settings.publicUrl).origin;

  /**
   * Whether the person may follow the org, as the REST routes decide: tickets.read now, and the
   * second factor passed where the org requires it (`mfa`: the session's; a token has none to ask).
   */
  async function holdsTicketsRead(orgId: string, userId: string, mfa?: string): Promise<boolean> {
    const { permissions, requireTotp } = await withTenant(app.deps.pool, orgId, (tx) =>
      memberAccess(tx, userId),
    );
    return permissions.has('tickets.read') && !(requireTotp && mfa !== undefined && mfa !== 'verified');
  }

  app.get(
    '/v1/live',
    {
      websocket: true,
      // Any signed-in caller: a person, or a token (checked for its scopes just below). Limited
      // per person or token like any call, not with sign-in's per-address bucket: after a deploy
      // every open panel reconnects, and an office behind one address used up its sign-ins.
      // An upgrade with a cookie or token that names nobody still counts as a failed sign-in
      // of its address (plugins/auth.ts).
      config: { access: 'caller', rateLimit: 'default' },
      schema: {
        tags: ['live'],
        operationId: 'connectLive',
        summary: 'Live updates and presence over WebSocket (session cookie or API token)',
      },
      preHandler: async (req: FastifyRequest) => {
        const auth = req.auth;
        if (auth?.kind === 'token') {
          // Refused at the upgrade, in words, rather than a socket that can follow nothing.
          if (!permissionsForScopes(auth.scopes).has('tickets.read')) {
            throw new AppError('forbidden', "the token's scopes do not grant tickets.read", {
              details: { reason: 'insufficient_scope', permission: 'tickets.read', anyOf: ['tickets.read'] },
            });
          }
          // A token a staff member made, or an OAuth app acting for one, holds no more than the
          // member holds now, as on every REST route (plugins/auth.ts).
          if (auth.userId && !(await holdsTicketsRead(auth.orgId, auth.userId))) {
            throw new AppError('forbidden', 'the member this token acts for cannot read tickets here', {
              details: { reason: 'missing_permission', permission: 'tickets.read', anyOf: ['tickets.read'] },
            });
          }
          return;
        }
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== allowedOrigin) {
          throw new AppError('forbidden', `WebSocket origin ${origin} is not allowed`);
        }
      },
    },
    (socket: WebSocket, req: FastifyRequest) => {
      const auth = req.auth;
      if (!auth) return socket.close(1008, 'sign in first');
      /** The signed-in person; null for a token, which can follow topics but is nobody to show. */
      const userId = auth.kind === 'session' ? auth.userId : null;
      const tokenOrg = auth.kind === 'token' ? auth.orgId : null;
      const cookie = cookieOf(req, SESSION_COOKIE) ?? '';
      const bearer = req.headers.authorization?.split(' ', 2)[1] ?? '';
      const client: LiveClient = {
        send: (m) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
        },
      };
      const allowedOrgs = new Map<string, number>();
      /** The session's second factor, as last read (a token has none to ask). */
      let mfa = auth.kind === 'session' ? auth.session.mfa : undefined;
      const presenceIn = new Map<string, string>();
      /** The orgs this socket follows (by topic), whose staff presence its messages keep fresh. */
      const following = new Map<string, string>();
      const touchedAt = new Map<string, number>();
      const error = (message: string) => client.send({ type: 'error', message });

      /**
       * Members with tickets.read (and the second factor where their org requires it) may follow
       * their org; checked again after a minute. A token follows only its own org (its scopes
       * were checked at the upgrade), and one acting for a member only while the member may.
       */
      async function mayRead(orgId: string): Promise<boolean> {
        if (tokenOrg !== null && orgId !== tokenOrg) return false;
        const person = auth?.kind === 'token' ? auth.userId : userId;
        if (person === null || person === undefined) return tokenOrg !== null;
        const checked = allowedOrgs.get(orgId);
        if (checked !== undefined && app.settings.now() - checked < 60_000) return true;
        if (!(await holdsTicketsRead(orgId, person, mfa))) return false;
        allowedOrgs.set(orgId, app.settings.now());
        return true;
      }
      async function topicFor(orgId: string, ticketId?: string): Promise<string | null> {
        if (!(await mayRead(orgId))) return null;
        if (!ticketId) return orgTopic(orgId);
        const found = await withTenant(app.deps.pool, orgId, (tx) => getTicket(tx, ticketId)).catch(
          () => null,
        );
        return found ? ticketTopic(ticketId) : null;
      }

      /**
       * A signed-in member's socket talking (the panel pings while it is in view) is the member at
       * work in the orgs it follows (lib/presence.ts). At most once per 30 s per org: the state
       * lasts PRESENCE_TTL_S, and a busy ticket's typing updates need not each reach Redis.
       */
      function touchFollowed() {
        if (userId === null) return;
        const now = app.settings.now();
        for (const orgId of new Set(following.values())) {
          if (now - (touchedAt.get(orgId) ?? Number.NEGATIVE_INFINITY) < 30_000) continue;
          touchedAt.set(orgId, now);
          touchPresence(app.deps.redis, orgId, userId, 'panel', new Date(now)).catch((err) =>
            req.log.warn({ err }, 'staff presence not recorded'),
          );
        }
      }

      socket.on('message', async (raw) => {
        try {
          await handle(raw);
        } finally {
          touchFollowed();
        }
      });

      async function handle(raw: unknown) {
        let msg: z.infer<typeof clientMessage>;
        try {
          msg = clientMessage.parse(JSON.parse(String(raw)));
        } catch {
          return error('messages are JSON: subscribe, unsubscribe, presence or ping');
        }
        try {
          if (msg.type === 'ping') return client.send({ type: 'pong' });
          if (msg.type === 'presence' && userId === null) {
            return error('presence is for signed-in people, not API tokens');
          }
          if (msg.type !== 'presence' && msg.notifications && userId === null) {
            return error('notifications are for signed-in people, not API tokens');
          }
          const topic =
            msg.type !== 'presence' && msg.notifications && userId !== null
              ? (await mayRead(msg.orgId))
                ? memberTopic(msg.orgId, userId)
                : null
              : await topicFor(msg.orgId, msg.ticketId);
          // Unknown and forbidden look the same: no hint that another org's ticket exists.
          if (!topic) return error('not found');
          if (msg.type === 'subscribe') {
            await hub.subscribe(client, topic, msg.after);
            following.set(topic, msg.orgId);
            // Who is already there: presence is only pushed on change, so a newcomer asks once.
            if (msg.ticketId) {
              client.send({
                type: 'presence',
                ticketId: msg.ticketId,
                viewers: await hub.viewers(msg.ticketId),
              });
            }
            return;
          }
          if (msg.type === 'unsubscribe') {
            following.delete(topic);
            return hub.unsubscribe(client, topic);
          }
          const state = msg.state === 'left' ? null : msg.state;
          if (state) presenceIn.set(msg.ticketId, msg.orgId);
          else presenceIn.delete(msg.ticketId);
          if (userId !== null) await hub.setPresence(msg.orgId, msg.ticketId, userId, state);
        } catch (err) {
          req.log.warn({ err }, 'live message failed');
          error(`failed (request ${req.id})`);
        }
      }

      // A revocation heard here (made here, or relayed from another instance) ends the socket at
      // once; the periodic check below catches expiry and a revocation whose event was lost.
      const stopListening =
        auth.kind === 'token'
          ? app.tokenCache.onRevoked((tokenId) => {
              if (tokenId === auth.tokenId) socket.close(4001, 'token revoked');
            })
          : () => {};
      const check = setInterval(async () => {
        if (auth.kind === 'token') {
          // An unreachable database is not a revocation: keep the socket and ask again later.
          const still = await resolveBearer(app, bearer).catch(() => undefined);
          if (still === null || (still && still.tokenId !== auth.tokenId))
            return socket.close(4001, 'token revoked');
        } else {
          // Without touching it: an open tab is not the person at work, and sliding the idle
          // window from here kept an abandoned panel signed in for good.
          const still = await readSession(app.deps.redis, cookie, sessionTimes(app.settings), {
            touch: false,
          }).catch(() => null);
          if (!still) return socket.close(4001, 'session ended');
          // TOTP turned off meanwhile: the orgs asked again below see what is true now.
          mfa = still.mfa;
        }
        // Access to each org followed, asked again: a member removed or demoted while following
        // stops hearing it (a client that reconnects is refused what it may no longer read).
        for (const orgId of allowedOrgs.keys()) {
          allowedOrgs.delete(orgId);
          if (!(await mayRead(orgId).catch(() => true)))
            return socket.close(4003, 'access to an organization ended');
        }
      }, app.settings.liveRecheckMs ?? SESSION_CHECK_MS);
      check.unref();

      socket.on('close', () => {
        clearInterval(check);
        stopListening();
        hub.drop(client);
        if (userId === null) return;
        for (const [ticketId, orgId] of presenceIn) {
          hub.setPresence(orgId, ticketId, userId, null).catch(() => {});
        }
      });
    },
  );
};
