import { describe, expect, it } from 'vitest';
import { queryAudit } from '../../db/audit.js';
import { addMember } from '../../db/memberships.js';
import * as inbox from '../../db/messages.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

describe('inbox channels, unread state and the audit log', () => {
  it('player DMs and staff rooms carry messages, unread counts per staff member, and audit entries', async () => {
    const org = await makeOrg(db.app);
    const mod = await createUser(db.app, { displayName: 'Mod' });
    const result = await withTenant(db.app, org.orgId, async (tx) => {
      await addMember(tx, { userId: mod.id, role: 'moderator' }, org.owner);
      const player = await upsertPlayer(tx, { displayName: 'P', email: 'P@Example.com' });
      const again = await upsertPlayer(tx, {
        displayName: 'P',
        email: 'p@example.com',
        discordUserId: '223456789012345678',
      });
      expect(again.id).toBe(player.id);
      expect(again.discordUserId).toBe('223456789012345678');
      const dm = await inbox.openChannel(tx, { kind: 'player_dm', playerId: player.id }, org.owner);
      expect((await inbox.openChannel(tx, { kind: 'player_dm', playerId: player.id }, org.owner)).id).toBe(
        dm.id,
      );
      const room = await inbox.openChannel(tx, { kind: 'staff_room', name: 'Moderators' }, org.owner);
      const p = { type: 'player' as const, id: player.id };
      await inbox.postMessage(tx, { channelId: dm.id, body: 'hello?', origin: 'game', externalId: 'g-1' }, p);
      const replay = await inbox.postMessage(
        tx,
        { channelId: dm.id, body: 'hello?', origin: 'game', externalId: 'g-1' },
        p,
      );
      expect(replay.created).toBe(false);
      await inbox.postMessage(
        tx,
        { channelId: room.id, body: 'anyone on shift?', origin: 'panel' },
        org.owner,
      );
      await expect(
        inbox.postMessage(tx, { channelId: room.id, body: 'let me in', origin: 'game' }, p),
      ).rejects.toMatchObject({
        code: 'not_found',
      });
      const before = await inbox.unreadCounts(tx, mod.id);
      await inbox.markRead(tx, dm.id, mod.id);
      const after = await inbox.unreadCounts(tx, mod.id);
      const ownerView = await inbox.unreadCounts(tx, org.ownerId);
      return { dm, room, before, after, ownerView, msgs: await inbox.channelMessages(tx, dm.id) };
    });
    expect(result.msgs.map((m) => m.body)).toEqual(['hello?']);
    expect(result.before.get(result.dm.id)).toBe(1);
    expect(result.before.get(result.room.id)).toBe(1);
    expect(result.after.get(result.dm.id)).toBeUndefined();
    // The owner wrote in the room: their own message is not unread for them.
    expect(result.ownerView.get(result.room.id)).toBeUndefined();

    const audit = await withTenant(db.app, org.orgId, (tx) => queryAudit(tx, { actorId: org.ownerId }));
    expect(audit.map((a) => a.action)).toEqual([
      'message.created',
      'channel.created',
      'channel.created',
      'member.added',
    ]);
    const rooms = await withTenant(db.app, org.orgId, (tx) =>
      queryAudit(tx, { action: 'channel.created', limit: 1 }),
    );
    expect(rooms).toHaveLength(1);
    const paged = await withTenant(db.app, org.orgId, (tx) => queryAudit(tx, { before: rooms[0]?.id }));
    expect(paged.every((a) => a.id < (rooms[0]?.id ?? 0))).toBe(true);
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        queryAudit(tx, { from: new Date('2030-01-01'), to: new Date('2020-01-01') }),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
