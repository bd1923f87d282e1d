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

/** A game of `org`'s with a client key and a server secret. */
export interface SdkGame {
  gameId: string;
  clientKey: string;
  serverSecret: string;
}

export function newSdkGame(db: TestDb, org: OrgFixture, slug: string): Promise<SdkGame> {
  return withTenant(db.app, org.orgId, async (tx) => {
    const game = await createGame(tx, { name: slug, slug }, org.owner);
    const client = await createGameKey(tx, { gameId: game.id, name: 'client' }, org.owner);
    const server = await createGameKey(tx, { gameId: game.id, name: 'server', kind: 'server' }, org.owner);
    return { gameId: game.id, clientKey: client.plaintext, serverSecret: server.plaintext };
  });
}

export async function sdkWorld(db: TestDb, name: string): Promise<SdkWorld> {
  const org = await makeOrg(db.app, `${name} A`);
  const otherOrg = await makeOrg(db.app, `${name} B`);
  const a = await newSdkGame(db, org, 'quest');
  const b = await newSdkGame(db, otherOrg, 'other');
  return { org, otherOrg, ...a, otherOrgKey: b.clientKey };
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
