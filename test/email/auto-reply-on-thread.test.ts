import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { setStatus } from '../../db/ticket-status.js';
import { reply } from '../../db/tickets.js';
import { replyAddress } from '../../lib/email/thread-text.js';
import { type Envelope, intakeEmail } from '../../workers/email-intake.js';
import { useTestDb } from '../support/db.js';
import { emailOrg, plainMail, quietLogger, tempStorage } from './support.js';

const db = useTestDb();
const { dir, storage } = tempStorage();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let org: Awaited<ReturnType<typeof emailOrg>>;
beforeAll(async () => {
  org = await emailOrg(db.app);
});
const deps = () => ({ pool: db.app, storage, logger: quietLogger() });
const env = (to: string, mailFrom: string): Envelope => ({ mailFrom, rcptTo: [to], via: 'smtp' });

/** A player's ticket by email, answered by staff and solved (or closed): its plus address. */
async function answered(from: string, status: 'solved' | 'closed', extraHeaders: string[] = []) {
  const opened = await intakeEmail(
    deps(),
    org.orgId,
    plainMail({ from, to: org.address, subject: 'Crash', body: 'The game crashes.', extraHeaders }),
    env(org.address, from),
  );
  expect(opened.status).toBe('new_ticket');
  const ticketId = opened.ticketId as string;
  await withTenant(db.app, org.orgId, (tx) =>
    reply(
      tx,
      { ticketId, body: 'Fixed in 1.2, please update.', origin: 'panel', status: 'solved' },
      org.owner,
    ),
  );
  if (status === 'closed')
    await withTenant(db.app, org.orgId, (tx) => setStatus(tx, { ticketId, status: 'closed' }, org.owner));
  const token = (await db.admin.query('select token from email_threads where ticket_id = $1', [ticketId]))
    .rows[0].token as string;
  return { ticketId, plus: replyAddress(org.address, token) };
}

const state = async (ticketId: string) => {
  const r = await db.admin.query(
    `select t.status, t.last_player_message_at as "lastPlayer",
       (select count(*)::int from messages m where m.ticket_id = t.id) as messages,
       (select count(*)::int from outbox o where o.org_id = t.org_id and o.aggregate_id = t.id) as events,
       (select count(*)::int from tickets x where x.org_id = t.org_id) as tickets
     from tickets t where t.id = $1`,
    [ticketId],
  );
  return r.rows[0];
};

/**
 * An out-of-office answer to a staff reply, from a mail system that marks it only with
 * X-Auto-Response-Suppress (no Auto-Submitted): the thread was opened by the player's own mail,
 * so this one is a machine answering for them. It is logged with the ticket, and moves nothing:
 * no reopen, no player reply for the SLA, no message event (so no acknowledgement rule and no
 * "player replied" notification), no follow-up ticket.
 */
describe("an automatic answer on a ticket's thread", () => {
  const outOfOffice = (from: string, to: string) =>
    plainMail({
      from,
      to,
      subject: 'Automatic reply: Re: Crash [#1]',
      extraHeaders: ['X-Auto-Response-Suppress: All'],
      body: 'I am out of the office until Monday and will read your mail then.',
    });

  it('does not reopen a solved ticket, count as the player, or make a message', async () => {
    const from = 'gus@players.example';
    const { ticketId, plus } = await answered(from, 'solved');
    const before = await state(ticketId);
    const r = await intakeEmail(deps(), org.orgId, outOfOffice(from, plus), env(plus, from));
    expect(await state(ticketId)).toEqual(before);
    expect(r).toMatchObject({ status: 'auto_reply', ticketId, reason: 'X-Auto-Response-Suppress' });
    const log = await db.admin.query(
      "select status, ticket_id from email_messages where org_id = $1 and direction = 'in' and status = 'auto_reply'",
      [org.orgId],
    );
    expect(log.rows).toContainEqual({ status: 'auto_reply', ticket_id: ticketId });
  });

  it('opens no follow-up ticket when the ticket is closed', async () => {
    const from = 'hal@players.example';
    const { ticketId, plus } = await answered(from, 'closed');
    const before = await state(ticketId);
    const r = await intakeEmail(deps(), org.orgId, outOfOffice(from, plus), env(plus, from));
    expect(await state(ticketId)).toEqual(before);
    expect(r).toMatchObject({ status: 'auto_reply', ticketId });
  });

  it("still takes a list's posts on a thread a list opened as replies", async () => {
    const list = ['List-Id: <players.lists.example>', 'Precedence: list'];
    const from = 'list@lists.example';
    const { ticketId, plus } = await answered(from, 'solved', list);
    const r = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({ from, to: plus, subject: 'Re: Crash', body: 'Still crashing on 1.2.', extraHeaders: list }),
      env(plus, from),
    );
    expect(r).toMatchObject({ status: 'reply', ticketId });
    expect((await state(ticketId)).status).toBe('open');
  });
});
