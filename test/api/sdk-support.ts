import type { LightMyRequestResponse } from 'fastify';
import { createGame, createGameKey } from '../../db/games.js';
import { withTenant } from '../../db/tenant.js';
import type { TestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import type { TestApi } from './support.js';

/** An org with one game, its client key and server secret, and another org's game key. */
export interface SdkWorld {
  org: OrgFixture;
  gameId: string;
  clientKey: string;
  serverSecret: string;
  otherOrgKey: string;
  otherOrg: OrgFixture;
}

export async function sdkWorld(db: TestDb, name: string): Promise<SdkWorld> {
  const org = await makeOrg(db.app, `${name} A`);
  const otherOrg = await makeOrg(db.app, `${name} B`);
  const made = async (o: OrgFixture, slug: string) =>
    withTenant(db.app, o.orgId, async (tx) => {
      const game = await createGame(tx, { name: slug, slug }, o.owner);
      const client = await createGameKey(tx, { gameId: game.id, name: 'client' }, o.owner);
      const server = await createGameKey(tx, { gameId: game.id, name: 'server', kind: 'server' }, o.owner);
      return { gameId: game.id, client: client.plaintext, server: server.plaintext };
    });
  const a = await made(org, 'quest');
  const b = await made(otherOrg, 'other');
  return {
    org,
    otherOrg,
    gameId: a.gameId,
    clientKey: a.client,
    serverSecret: a.server,
    otherOrgKey: b.client,
  };
}

/** An /sdk/v1 request with a game key (none when `key` is null). */
export function sdkCall(
  api: TestApi,
  key: string | null,
  method: 'GET' | 'POST' | 'OPTIONS',
  path: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return api.app.inject({
    method,
    url: `/sdk/v1${path}`,
    headers: { ...(key ? { 'x-game-key': key } : {}), ...headers },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

export const alice = { id: 'steam:1001', name: 'Alice' };
export const bob = { id: 'steam:1002', name: 'Bob' };
