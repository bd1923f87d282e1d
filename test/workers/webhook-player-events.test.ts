import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gamePlayerInput, upsertGamePlayer } from '../../db/game-players.js';
import { createGame } from '../../db/games.js';
import { createLinkCode, redeemLinkCode } from '../../db/link-codes.js';
import type { OutboxRow } from '../../db/outbox.js';
import { setModeration } from '../../db/player-moderation.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { unlinkGameAccount } from '../../db/player-unlink.js';
import type { Tx } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { fanout } from '../../workers/webhooks.js';
import { useTestDb } from '../support/db.js';
import { startReceiver, subscribedOrg, testDeps, uniquePrefix } from './support.js';

/**
 * A player's identity and moderation changes reach studios' webhooks: a game server learns of a
 * ban when it happens, not at its next poll. After the player's erasure the events that are still
 * to be delivered carry no personal data.
 */
const db = useTestDb();
let env: ReturnType<typeof testDeps>;

beforeAll(() => {
  env = testDeps(db.app, uniquePrefix());
});
afterAll(async () => {
  await env.close();
});

const TYPES = ['player.linked', 'player.unlinked', 'player.moderated'] as const;
const BAN = '2031-01-01T00:00:00.000Z';

async function linkAccount(
  tx: Tx,
  gameId: string,
  account: { id: string; name: string },
  discordUserId: string,
) {
  const player = await upsertGamePlayer(tx, gameId, gamePlayerInput.parse(account));
  const { code } = await createLinkCode(tx, player.id);
  return redeemLinkCode(tx, { code, discordUserId }, { type: 'system' });
}

/** The org's events of `type`, oldest first, as the relay reads them. */
async function eventsOf(orgId: string, type: string): Promise<OutboxRow[]> {
  const r = await db.admin.query<OutboxRow>(
    `select id::int as id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
            aggregate_id as "aggregateId", payload, created_at as "createdAt"
       from outbox where org_id = $1 and event_type = $2 order by id`,
    [orgId, type],
  );
  return r.rows;
}

describe('player identity and moderation webhooks', () => {
  it('delivers player.linked, player.moderated and player.unlinked with their documented payloads', async () => {
    const rx = await startReceiver();
    try {
      const { org } = await subscribedOrg(db, rx.url, [...TYPES]);
      const owner = org.owner;
      const { quest, arena, pid } = await withTenant(db.app, org.orgId, async (tx) => {
        const quest = await createGame(tx, { name: 'Quest', slug: 'quest' }, owner);
        const arena = await createGame(tx, { name: 'Arena', slug: 'arena' }, owner);
        const { playerId: pid } = await linkAccount(
          tx,
          quest.id,
          { id: 'steam:1', name: 'Ann' },
          '777000000000000001',
        );
        await linkAccount(tx, arena.id, { id: 'arena:1', name: 'Ann A' }, '777000000000000001');
        await setModeration(tx, pid, { bannedUntil: BAN, reason: 'cheating' }, owner);
        await unlinkGameAccount(tx, pid, { gameId: arena.id }, owner);
        return { quest, arena, pid };
      });
      const bodies: Record<string, unknown> = {};
      for (const type of TYPES) {
        const rows = await eventsOf(org.orgId, type);
        expect(rows.length, type).toBeGreaterThan(0);
        const row = rows.at(-1) as OutboxRow;
        // The relay plans the fan-out for it, and the fan-out delivers it.
        expect(impliedJobs(row).map((j) => j.name)).toContain('webhook.fanout');
        const before = rx.requests.length;
        expect(await fanout(env.deps, { orgId: org.orgId, outboxId: row.id })).toBe(1);
        expect(rx.requests.length).toBe(before + 1);
        bodies[type] = JSON.parse(rx.requests.at(-1)?.body ?? '{}');
      }
      expect(bodies['player.linked']).toMatchObject({
        type: 'player.linked',
        // The second game's link merged its account's profile into the player's.
        data: { playerId: pid, discordUserId: '777000000000000001', mergedFrom: expect.any(String) },
      });
      expect(bodies['player.moderated']).toMatchObject({
        type: 'player.moderated',
        data: {
          playerId: pid,
          warned: false,
          mutedUntil: null,
          bannedUntil: BAN,
          reason: 'cheating',
          // A game server knows its players by its own account ids.
          gameAccounts: [
            { gameId: quest.id, gameAccountId: 'steam:1' },
            { gameId: arena.id, gameAccountId: 'arena:1' },
          ],
        },
      });
      expect(bodies['player.unlinked']).toMatchObject({
        type: 'player.unlinked',
        data: { playerId: pid, gameId: arena.id, splitInto: expect.any(String) },
      });
    } finally {
      await rx.close();
    }
  });

  it("after the player's erasure, their pending events carry ids and flags only", async () => {
    const rx = await startReceiver();
    try {
      const { org } = await subscribedOrg(db, rx.url, [...TYPES]);
      const owner = org.owner;
      await withTenant(db.app, org.orgId, async (tx) => {
        const quest = await createGame(tx, { name: 'Quest', slug: 'quest' }, owner);
        const { playerId } = await linkAccount(
          tx,
          quest.id,
          { id: 'steam:2', name: 'Bea' },
          '777000000000000002',
        );
        await setModeration(tx, playerId, { mutedUntil: BAN, reason: 'insulted Bea in chat' }, owner);
        await erasePlayer(tx, playerId, owner);
      });
      for (const type of ['player.linked', 'player.moderated']) {
        const row = (await eventsOf(org.orgId, type)).at(-1) as OutboxRow;
        expect(await fanout(env.deps, { orgId: org.orgId, outboxId: row.id })).toBe(1);
        const body = rx.requests.at(-1)?.body ?? '';
        expect(JSON.parse(body).data.erased, type).toBe(true);
        for (const personal of ['777000000000000002', 'steam:2', 'Bea', 'insulted', BAN])
          expect(body, `${type} ${personal}`).not.toContain(personal);
      }
    } finally {
      await rx.close();
    }
  });
});
