import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  erasePlayer,
  exportById,
  getPlayerExport,
  type PlayerExport,
  requestPlayerExport,
} from '../../db/player-privacy.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../lib/errors.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { at } from './settings-schemas.js';

/** How long an archive's download link works: it holds everything about a person. */
const LINK_TTL_SECONDS = 300;

const playerParams = orgParams.extend({ playerId: z.uuid() });

export const playerExportSchema = z
  .object({
    id: z.uuid(),
    playerId: z.uuid(),
    status: z.enum(['pending', 'ready', 'failed']),
    sizeBytes: z.number().int().nullable(),
    error: z.string().nullable(),
    createdAt: at,
    finishedAt: at.nullable(),
    downloadUrl: z.string().nullable().describe('a signed link for 5 minutes once the archive is ready'),
  })
  .meta({ id: 'PlayerExport' });

function withLink(app: FastifyInstance, orgId: string, e: PlayerExport) {
  // The download signer of attachments, keyed by the export's id: a link opens that one archive.
  const url =
    e.status === 'ready'
      ? `${app.settings.publicUrl}/v1/player-exports/${e.id}?token=${app.signer.sign({ orgId, attachmentId: e.id }, LINK_TTL_SECONDS)}`
      : null;
  return {
    id: e.id,
    playerId: e.playerId,
    status: e.status,
    sizeBytes: e.sizeBytes,
    error: e.error,
    createdAt: e.createdAt,
    finishedAt: e.finishedAt,
    downloadUrl: url,
  };
}

const T = ['privacy'];
const access = { permission: 'privacy.manage' } as const;

export const privacyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/orgs/:orgId/players/:playerId/exports',
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'requestPlayerExport',
        summary: 'Ask for an archive of everything held about a player (built by the workers; poll it)',
        description:
          "The archive holds `player.json` (the player's rows, table by table) and their files. Of the tickets they opened it holds their own messages, history and files and staff's, not another player's (a moderation ticket's later reports, someone else in its thread); of reports about them, that they were made, why and their outcome, not who made them or what the reporters wrote; never the Discord side's credentials or the workers' bookkeeping.",
        params: playerParams,
        response: { 202: playerExportSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const e = await req.inOrg((tx) => requestPlayerExport(tx, req.params.playerId, actorOf(req)));
      return reply.status(202).send(withLink(app, req.params.orgId, e));
    },
  );

  app.get(
    '/v1/orgs/:orgId/players/:playerId/exports/:exportId',
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'getPlayerExport',
        summary: "A player export's state, with a fresh signed download link once it is ready",
        params: playerParams.extend({ exportId: z.uuid() }),
        response: { 200: playerExportSchema, ...errorResponses },
      },
    },
    async (req) => {
      const e = await req.inOrg((tx) => getPlayerExport(tx, req.params.playerId, req.params.exportId));
      return withLink(app, req.params.orgId, e);
    },
  );

  app.get(
    '/v1/player-exports/:exportId',
    {
      config: { access: 'public' },
      schema: {
        tags: T,
        operationId: 'downloadPlayerExport',
        summary: "Download a player's archive (.tar.gz) through a signed link (from getPlayerExport)",
        params: z.object({ exportId: z.uuid() }),
        querystring: z.object({ token: z.string().min(1).max(512) }),
      },
    },
    async (req, reply) => {
      const claims = app.signer.verify(req.query.token, req.params.exportId);
      const e = await withTenant(app.deps.pool, claims.orgId, (tx) => exportById(tx, req.params.exportId));
      if (e.status !== 'ready' || !e.storageKey) throw new AppError('not_found', 'this export is not ready');
      const filename = `player-${e.playerId}.tar.gz`;
      const presigned = app.storage.presignGet(e.storageKey, { expiresInSeconds: 60, filename });
      if (presigned) return reply.redirect(presigned, 302);
      const obj = await app.storage.get(e.storageKey);
      return reply
        .header('content-type', 'application/gzip')
        .header('content-length', String(obj.size))
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('cache-control', 'private, no-store')
        .send(obj.body);
    },
  );

  app.post(
    '/v1/orgs/:orgId/players/:playerId/erase',
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'erasePlayer',
        summary:
          "Erase a player's personal data everywhere (their Discord posts by the bot too), leaving an audited tombstone",
        params: playerParams,
        body: z.object({
          confirm: z.literal('erase', { error: 'send {"confirm":"erase"}: an erase cannot be undone' }),
        }),
        response: {
          200: z.object({ playerId: z.uuid(), counts: z.record(z.string(), z.number().int()) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      // Stored files are deleted by the workers (storage_erasures), queued in this transaction.
      const r = await req.inOrg((tx) => erasePlayer(tx, req.params.playerId, actorOf(req)));
      return { playerId: r.playerId, counts: r.counts };
    },
  );
};
