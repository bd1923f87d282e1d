import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { updatePrefs } from '../../db/notification-prefs.js';
import { listNotifications } from '../../db/notifications.js';
import { erasePlayer } from '../../db/player-privacy.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { intakeEmail } from '../../workers/email-intake.js';
import { createMailer } from '../../workers/email-outbound.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { emailOrg, plainMail, quietLogger, startSmtpSink, tempStorage } from '../email/support.js';
import { useTestDb } from '../support/db.js';
import { testDeps, uniquePrefix } from '../workers/support.js';

const db = useTestDb();
const { dir, storage } = tempStorage();
let env: ReturnType<typeof testDeps>;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let org: Awaited<ReturnType<typeof emailOrg>>;
let mod: { id: string; email: string };
const ON = { panel: true, discord: false, email: true };

beforeAll(async () => {
  sink = await startSmtpSink();
  env = testDeps(db.app, uniquePrefix());
  env.deps.mailer = createMailer(`smtp://127.0.0.1:${sink.port}`);
  org = await emailOrg(db.app);
  const u = await upsertDiscordUser(db.app, { discordUserId: '323456789012345678', username: 'modmo' });
  mod = { id: u.id, email: `mo@staff-${org.orgId.slice(0, 8)}.example` };
  await db.admin.query('update users set email = $2 where id = $1', [u.id, mod.email]);
  await withTenant(db.app, org.orgId, async (tx) => {
    await addMember(tx, { userId: u.id, role: 'agent' }, org.owner);
    await updatePrefs(tx, u.id, { events: { player_replied: ON, assigned: ON, new_in_queue: ON } } as never, {
      type: 'user',
      id: u.id,
    });
  });
});
afterAll(async () => {
  env.deps.mailer?.close();
  await env.close();
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});
const deps = () => ({ pool: db.app, storage, logger: quietLogger() });
const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
const lastOutbox = async () =>
  Number((await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
const notifySince = async (after: number) => {
  const rows = await db.admin.query<{ id: string }>(
    'select id from outbox where org_id = $1 and id > $2 order by id',
    [org.orgId, after],
  );
  for (const r of rows.rows) await notifyForEvent(env.deps, { orgId: org.orgId, outboxId: Number(r.id) });
};
const mailIn = (from: string, subject: string, body: string, to = org.address, extra: string[] = []) =>
  intakeEmail(deps(), org.orgId, plainMail({ from, to, subject, body, extraHeaders: extra }), {
    mailFrom: from.replace(/.*</, '').replace('>', ''),
    rcptTo: [to],
    via: 'smtp',
  });

/**
 * Where the email bridge meets the rest: staff notifications (their mail, and what an erase
 * leaves of them), strangers writing into a ticket's thread, and merged email tickets.
 */
describe('email bridge and staff notifications', () => {
  it('erasing a player leaves none of their words in staff notifications', async () => {
    const opened = await mailIn(
      'Eve Player <eve@players.example>',
      'My home address is 12 Secret Lane',
      'hi',
    );
    await tx((t) => tickets.assign(t, { ticketId: opened.ticketId!, assigneeId: mod.id }, org.owner));
    const before = await lastOutbox();
    await mailIn(
      'Eve Player <eve@players.example>',
      `Re: x [#${opened.ticketNumber}]`,
      'my phone is 555-0199-SECRET',
    );
    await notifySince(before - 5);
    const t = await tx((x) => tickets.getTicket(x, opened.ticketId!));
    await tx((x) => erasePlayer(x, t.requesterId!, org.owner));
    const after = await tx((x) => listNotifications(x, mod.id, { limit: 100 }));
    const text = after.filter((n) => n.ticketId === opened.ticketId).map((n) => `${n.title} | ${n.body}`);
    expect(text).toContain(`The player replied on ticket #${opened.ticketNumber} | null`);
    expect(text.join('\n')).not.toMatch(/555-0199-SECRET|12 Secret Lane/);
  });
});
