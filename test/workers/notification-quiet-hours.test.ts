import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { updatePrefs } from '../../db/notification-prefs.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { manualClock } from '../../workers/clock.js';
import { intakeEmail } from '../../workers/email-intake.js';
import type { Mailer } from '../../workers/email-outbound.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { emailOrg, plainMail, quietLogger, tempStorage } from '../email/support.js';
import { useTestDb } from '../support/db.js';
import { testDeps, uniquePrefix } from '../workers/support.js';

const db = useTestDb();
const { dir, storage } = tempStorage();
const clock = manualClock(new Date('2026-12-07T17:00:00Z')); // 18:00 in Berlin
let env: ReturnType<typeof testDeps>;
const sent: { to: unknown; at: Date }[] = [];
let failNext = true;
beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
  env.deps.mailer = {
    sendMail: async (m: { to: unknown }) => {
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ECONNECTION' });
      }
      sent.push({ to: m.to, at: clock.now() });
      return {};
    },
    close: () => {},
  } as unknown as Mailer;
});
afterAll(async () => {
  await env.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A notification mail whose relay failed in the evening is retried by the queue's backoff, which
 * runs for hours: the retry asks the member's quiet hours again rather than mailing at night.
 */
describe('quiet hours', () => {
  it('a notification mail retried after the relay failed is not sent in the quiet hours', async () => {
    const org = await emailOrg(db.app);
    const u = await upsertDiscordUser(db.app, { discordUserId: '423456789012345678', username: 'nightowl' });
    await db.admin.query('update users set email = $2 where id = $1', [u.id, 'owl@staff.example']);
    await withTenant(db.app, org.orgId, async (tx) => {
      await addMember(tx, { userId: u.id, role: 'agent' }, org.owner);
      await updatePrefs(
        tx,
        u.id,
        {
          events: { assigned: { panel: true, discord: false, email: true } },
          timeZone: 'Europe/Berlin',
          quietStart: 22 * 60,
          quietEnd: 7 * 60,
        } as never,
        { type: 'user', id: u.id },
      );
    });
    const opened = await intakeEmail(
      { pool: db.app, storage, logger: quietLogger() },
      org.orgId,
      plainMail({ from: 'P <p@players.example>', to: org.address, subject: 'Help', body: 'help' }),
      { mailFrom: 'p@players.example', rcptTo: [org.address], via: 'smtp' },
    );
    const before = Number((await db.admin.query('select max(id) as id from outbox')).rows[0].id);
    await withTenant(db.app, org.orgId, (tx) =>
      tickets.assign(tx, { ticketId: opened.ticketId!, assigneeId: u.id }, org.owner),
    );
    const outboxId = before + 1;
    await expect(notifyForEvent(env.deps, { orgId: org.orgId, outboxId })).rejects.toThrow(/ECONNREFUSED/);
    clock.set(new Date('2026-12-07T23:30:00Z')); // 00:30 in Berlin, inside 22:00-07:00
    await notifyForEvent(env.deps, { orgId: org.orgId, outboxId });
    expect(sent.map((s) => s.at.toISOString())).toEqual([]);
    const d = await db.admin.query(
      `select d.status, d.reason from notification_deliveries d
         join notifications n on n.id = d.notification_id where n.outbox_id = $1 and n.user_id = $2`,
      [outboxId, u.id],
    );
    expect(d.rows).toEqual([{ status: 'skipped', reason: 'quiet hours' }]);
  });
});
