import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { listRetentionPolicies, setRetentionPolicy } from '../../db/retention.js';
import { previewRetention } from '../../db/retention-apply.js';
import { withTenant } from '../../db/tenant.js';
import { makeOrg } from '../support/fixtures.js';
import { useRetentionRig } from './retention-support.js';

// What retention purges and anonymises in the tables its policies name (tickets, sessions, audit
// log, mail); its transcripts and the copies of a ticket kept elsewhere have their own files.
const rig = useRetentionRig();
const { db, counts, world, policies, run } = rig;

describe('retention applied', () => {
  it('purges exactly what the policies name, in small batches, with the files, and audits the counts', async () => {
    const a = await makeOrg(db.app, 'Purger');
    const b = await makeOrg(db.app, 'Bystander');
    const wa = await world(a);
    const wb = await world(b);
    await policies(a, 'purge');
    await policies(b, 'purge'); // set but never applied: b must not change
    const beforeA = await counts(a.orgId);
    const beforeB = await counts(b.orgId);
    const oldAudit = (
      await db.admin.query(
        `select count(*)::int as n from audit_logs where org_id = $1 and created_at < now() - interval '365 days'`,
        [a.orgId],
      )
    ).rows[0].n;
    expect(oldAudit).toBeGreaterThan(2);

    const preview = await withTenant(db.app, a.orgId, async (tx) =>
      previewRetention(tx, await listRetentionPolicies(tx), new Date()),
    );
    expect(Object.fromEntries(preview.map((p) => [p.target, p.rows]))).toEqual({
      tickets: 1,
      player_sessions: 1,
      audit_logs: oldAudit,
    });
    // The preview changed nothing.
    expect(await counts(a.orgId)).toEqual(beforeA);

    const result = await run(a.orgId);
    expect(result?.complete).toBe(true);
    expect(result?.counts).toMatchObject({ tickets: 1, player_sessions: 1, audit_logs: oldAudit, files: 1 });

    const afterA = await counts(a.orgId);
    // The old closed ticket went with its message and file; the run wrote one audit entry.
    expect(afterA).toEqual({
      tickets: beforeA.tickets - 1,
      messages: beforeA.messages - 1,
      attachments: beforeA.attachments - 1,
      player_sessions: beforeA.player_sessions - 1,
      audit_logs: beforeA.audit_logs - oldAudit + 1,
      email_messages: 0,
    });
    const left = await db.admin.query(`select id from tickets where org_id = $1 order by id`, [a.orgId]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([wa.newClosed, wa.oldOpen].sort());
    expect(await rig.storage.exists(wa.tickets.oldClosed?.key as string)).toBe(false);
    expect(await rig.storage.exists(wa.tickets.oldOpen?.key as string)).toBe(true);
    expect(await rig.storage.exists(wa.tickets.newClosed?.key as string)).toBe(true);

    const audit = await db.admin.query(
      `select actor_type, data from audit_logs where org_id = $1 and action = 'retention.applied'`,
      [a.orgId],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({
      actor_type: 'system',
      data: { complete: true, counts: { tickets: 1, player_sessions: 1, audit_logs: oldAudit, files: 1 } },
    });

    // The other organization is untouched, files included.
    expect(await counts(b.orgId)).toEqual(beforeB);
    for (const t of Object.values(wb.tickets)) expect(await rig.storage.exists(t.key)).toBe(true);

    // A second run finds nothing more.
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0, player_sessions: 0, audit_logs: 0 });
  });

  it('anonymises old closed tickets and sessions in place, keeping the rows', async () => {
    const a = await makeOrg(db.app, 'Anon');
    const wa = await world(a);
    await policies(a, 'anonymise');
    await withTenant(db.app, a.orgId, (tx) =>
      setRetentionPolicy(tx, { target: 'messages', days: 100, action: 'anonymise' }, a.owner),
    );
    const before = await counts(a.orgId);
    const result = await run(a.orgId, 1);
    // Two old messages (the old closed and the old open ticket's), one old session.
    expect(result?.counts).toMatchObject({ tickets: 1, messages: 2, player_sessions: 1 });
    const after = await counts(a.orgId);
    expect({ ...after, audit_logs: 0 }).toEqual({ ...before, audit_logs: 0 });

    const t = await db.admin.query(
      `select id, subject, number, requester_id, rating, rating_comment from tickets where org_id = $1`,
      [a.orgId],
    );
    const byId = new Map(t.rows.map((r) => [r.id, r]));
    expect(byId.get(wa.oldClosed)).toMatchObject({ requester_id: null, rating: 2, rating_comment: null });
    expect(byId.get(wa.oldClosed).subject).toBe(`Ticket #${byId.get(wa.oldClosed).number}`);
    expect(byId.get(wa.newClosed)).toMatchObject({
      requester_id: wa.playerId,
      subject: 'Lost items newClosed',
    });
    expect(byId.get(wa.oldOpen)).toMatchObject({ requester_id: wa.playerId, subject: 'Lost items oldOpen' });

    const m = await db.admin.query(
      `select ticket_id, body, author_player_id from messages where org_id = $1`,
      [a.orgId],
    );
    for (const row of m.rows) {
      if (row.ticket_id === wa.newClosed) expect(row.body).toBe('I lost my sword');
      else expect(row).toMatchObject({ body: '', author_player_id: null });
    }
    const n = await db.admin.query('select ticket_id, body from notifications where org_id = $1', [a.orgId]);
    expect(Object.fromEntries(n.rows.map((r) => [r.ticket_id, r.body]))).toEqual({
      [wa.oldClosed]: null,
      [wa.newClosed]: 'I lost my sword',
      [wa.oldOpen]: null,
    });
    const s = await db.admin.query(
      `select ip_hash, platform from player_sessions where org_id = $1 order by started_at`,
      [a.orgId],
    );
    expect(s.rows).toEqual([
      { ip_hash: null, platform: null },
      { ip_hash: 'h2', platform: 'pc' },
    ]);
    // Idempotent: nothing is left to anonymise.
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0, messages: 0, player_sessions: 0 });
  });

  it('anonymising a ticket erases its mail log and raw mail, an earlier anonymised one too', async () => {
    const a = await makeOrg(db.app, 'Anon mail');
    const wa = await world(a);
    await policies(a, 'anonymise');
    const mail = async (ticketId: string, key: string | null) => {
      if (key) await rig.storage.put(key, Buffer.from('secret body'), { contentType: 'message/rfc822' });
      await db.admin.query(
        `insert into email_messages (org_id, direction, message_id, ticket_id, status, from_address, raw_storage_key)
         values ($1, 'in', $2, $3, 'new_ticket', 'mira@example.com', $4)`,
        [a.orgId, `${randomUUID()}@example.com`, ticketId, key],
      );
    };
    const oldKey = `${a.orgId}/email/old.eml`;
    const newKey = `${a.orgId}/email/new.eml`;
    await mail(wa.oldClosed, oldKey);
    await mail(wa.oldClosed, null);
    await mail(wa.newClosed, newKey);
    // A mail that could not be read is also one of its ticket's attachments, which anonymise keeps.
    const attachedKey = `${a.orgId}/email/unreadable.eml`;
    await mail(wa.oldClosed, attachedKey);
    await withTenant(db.app, a.orgId, (tx) =>
      recordAttachment(
        tx,
        {
          ticketId: wa.oldClosed,
          filename: 'message.eml',
          contentType: 'message/rfc822',
          sizeBytes: 11,
          storageKey: attachedKey,
          origin: 'email',
        },
        a.owner,
      ),
    );
    const result = await run(a.orgId);
    expect(result?.counts).toMatchObject({ tickets: 1, files: 1 });
    const left = await db.admin.query(`select ticket_id from email_messages where org_id = $1`, [a.orgId]);
    expect(left.rows).toEqual([{ ticket_id: wa.newClosed }]);
    expect(await rig.storage.exists(oldKey)).toBe(false);
    expect(await rig.storage.exists(newKey)).toBe(true);
    expect(await rig.storage.exists(attachedKey)).toBe(true);
    // Mail kept by an anonymise run before this rule goes on the next run.
    const laterKey = `${a.orgId}/email/later.eml`;
    await mail(wa.oldClosed, laterKey);
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 1, files: 1 });
    expect(await rig.storage.exists(laterKey)).toBe(false);
    expect((await run(a.orgId))?.counts).toMatchObject({ tickets: 0 });
  });
});
