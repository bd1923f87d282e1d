import type { REST } from '@discordjs/rest';
import { describe, expect, it } from 'vitest';
import { ticketForSync } from '../../db/discord-ticket-sides.js';
import { setRetentionPolicy } from '../../db/retention.js';
import { withTenant } from '../../db/tenant.js';
import { recordTranscript } from '../../db/ticket-transcripts.js';
import type { WorkerDeps } from '../../workers/deps.js';
import { postTranscript } from '../../workers/ticket-sync-steps.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { useRetentionRig } from './retention-support.js';

const rig = useRetentionRig();
const { db, world, policies, run } = rig;

describe('retention and transcripts', () => {
  /** The sync job's transcript of the ticket (stored copy), and a post of it in a transcript channel. */
  async function transcribe(org: OrgFixture, ticketId: string, messageId: string) {
    const deps = { pool: db.app, storage: rig.storage } as unknown as WorkerDeps;
    const s = await withTenant(db.app, org.orgId, (tx) => ticketForSync(tx, ticketId));
    await postTranscript(deps, org.orgId, {} as REST, s!, new Date(), {});
    await withTenant(db.app, org.orgId, (tx) =>
      recordTranscript(tx, ticketId, {
        storageKey: null,
        post: { channelId: '512345678901234567', messageId },
      }),
    );
    return `orgs/${org.orgId}/transcripts/${ticketId}.html`;
  }
  const read = async (key: string) => {
    if (!(await rig.storage.exists(key))) return '';
    const chunks: Buffer[] = [];
    for await (const c of (await rig.storage.get(key)).body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const queuedPosts = async (orgId: string) =>
    (
      await db.admin.query(
        `select discord_message_id from discord_erasures where org_id = $1 and status = 'pending' order by 1`,
        [orgId],
      )
    ).rows.map((r) => r.discord_message_id);

  for (const action of ['purge', 'anonymise'] as const) {
    it(`${action} takes the stored transcript and its transcript-channel post with the old ticket`, async () => {
      const a = await makeOrg(db.app, `Transcripts ${action}`);
      const wa = await world(a);
      await policies(a, action);
      const oldKey = await transcribe(a, wa.oldClosed, '612345678901234001');
      const newKey = await transcribe(a, wa.newClosed, '612345678901234002');
      expect(await read(oldKey)).toContain('I lost my sword');
      const result = await run(a.orgId);
      expect(result?.counts).toMatchObject({ tickets: 1, files: action === 'purge' ? 2 : 1 });
      expect(await read(oldKey), 'the old ticket’s stored transcript').not.toContain('I lost my sword');
      expect(await read(newKey)).toContain('I lost my sword');
      // The post goes through the privacy sweep's Discord deletions.
      expect(await queuedPosts(a.orgId)).toEqual(['612345678901234001']);
      // Nothing is left to take on the next run.
      expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0 });
    });
  }

  it('a message policy takes the transcripts of the tickets whose messages it removes', async () => {
    const a = await makeOrg(db.app, 'Transcripts messages');
    const wa = await world(a);
    await withTenant(db.app, a.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'messages', days: 100, action: 'anonymise' }, a.owner),
    );
    const oldKey = await transcribe(a, wa.oldClosed, '612345678901234003');
    const newKey = await transcribe(a, wa.newClosed, '612345678901234004');
    expect((await run(a.orgId))?.counts).toMatchObject({ messages: 2, files: 1 });
    expect(await read(oldKey)).not.toContain('I lost my sword');
    expect(await read(newKey)).toContain('I lost my sword');
    expect(await queuedPosts(a.orgId)).toEqual(['612345678901234003']);
  });
});
