import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createGuildLinkCode, linkCodeInput } from '../../db/guild-links.js';
import {
  listRoleMappings,
  removeRoleMapping,
  roleMappingInput,
  setRoleMapping,
} from '../../db/guild-roles.js';
import { guildSettingsPatchSchema, patchGuildSettings } from '../../db/guild-settings.js';
import { getGuild, listGuilds, unlinkGuild } from '../../db/guilds.js';
import { snowflake } from '../../db/schemas.js';
import { AppError } from '../../lib/errors.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at, secretOnce } from './settings-schemas.js';

export const guildSchema = z
  .object({
    guildId: z.string(),
    name: z.string(),
    settings: z.record(z.string(), z.unknown()),
    linkedAt: at,
  })
  .meta({ id: 'Guild' });

const roleMappingSchema = z
  .object({ discordRoleId: z.string(), roleId: z.uuid(), roleKey: z.string() })
  .meta({ id: 'GuildRoleMapping' });

const T = ['guilds'];
const access = { permission: 'guilds.manage' } as const;
const guildParams = orgParams.extend({ guildId: snowflake });
const mappingParams = guildParams.extend({ discordRoleId: snowflake });

export const guildRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/guilds';
  const one = `${base}/:guildId`;

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listGuilds',
        summary: 'List the linked Discord servers',
        params: orgParams,
        response: { 200: z.object({ guilds: z.array(guildSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ guilds: await req.inOrg((tx) => listGuilds(tx)) }),
  );

  // Not idempotent on purpose: a replayed response would have to keep the plaintext code.
  app.post(
    `${base}/link-codes`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'createGuildLinkCode',
        summary: "A one-time code to paste into the bot's /setup link in the Discord server",
        params: orgParams,
        body: linkCodeInput.nullish(),
        response: {
          201: z.object({ code: secretOnce('the link code'), expiresAt: at }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createGuildLinkCode(tx, actorOf(req), req.body ?? {}))),
  );

  app.get(
    one,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'getGuild',
        summary: 'One linked Discord server with its settings and role mappings',
        params: guildParams,
        response: {
          200: guildSchema.extend({ roleMappings: z.array(roleMappingSchema) }),
          ...errorResponses,
        },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => ({
        ...(await getGuild(tx, req.params.guildId)),
        roleMappings: await listRoleMappings(tx, req.params.guildId),
      })),
  );

  app.patch(
    `${one}/settings`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'updateGuildSettings',
        summary: "Merge changes into a server's settings (channels, limits, per-category ticket mode)",
        description:
          'A JSON merge patch: a value sets, null clears (a channel back to none, a category entry or one of its fields), an absent key stays.',
        params: guildParams,
        body: guildSettingsPatchSchema.refine((v) => Object.keys(v).length > 0, 'nothing to change'),
        response: { 200: guildSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => patchGuildSettings(tx, req.params.guildId, req.body, actorOf(req))),
  );

  app.delete(
    one,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'unlinkGuild',
        summary: 'Unlink a Discord server from the organization',
        description:
          "Its role mappings go with it, and so does every membership they made (each audited as `member.removed` with reason `guild_unlinked`; the person's API tokens and the OAuth grants they gave are revoked). Memberships given in the panel stay.",
        params: guildParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => unlinkGuild(tx, req.params.guildId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.put(
    `${one}/role-mappings/:discordRoleId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'setGuildRoleMapping',
        summary: 'Map a Discord role onto an org role (staff with it act with that role)',
        params: mappingParams,
        body: roleMappingInput.pick({ roleKey: true }),
        response: { 200: roleMappingSchema, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => {
        await getGuild(tx, req.params.guildId);
        return setRoleMapping(
          tx,
          { guildId: req.params.guildId, discordRoleId: req.params.discordRoleId, roleKey: req.body.roleKey },
          actorOf(req),
        );
      }),
  );

  app.delete(
    `${one}/role-mappings/:discordRoleId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'deleteGuildRoleMapping',
        summary: 'Remove the mapping of a Discord role',
        params: mappingParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const removed = await req.inOrg((tx) =>
        removeRoleMapping(tx, req.params.guildId, req.params.discordRoleId, actorOf(req)),
      );
      if (!removed) throw new AppError('not_found', 'this Discord role is not mapped');
      return { ok: true as const };
    },
  );
};
