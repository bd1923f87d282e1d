import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../bot/bot.js';
import { SYSTEM } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { setRoleMapping } from '../../db/guild-roles.js';
import { withTenant } from '../../db/tenant.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { createTicketPages } from '../../lib/ticket-links.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { type FakeDiscordProcess, startFakeDiscordProcess } from '../support/fake-discord/process-driver.js';
import { makeOrg } from '../support/fixtures.js';

/**
 * What the gateway thread is for: Discord drops an interaction that is not acknowledged within
 * 3 s, and the main thread can be stuck longer than that (a long garbage collection, a burst of
 * work). Here the fake Discord runs in a process of its own and the test blocks the bot's main
 * thread for 4 s while an interaction arrives. An interaction the main thread must answer itself
 * (a form) is lost, which shows the stall is long enough to lose one; one the gateway thread
 * defers is acknowledged during the stall, and the main thread answers it afterwards.
 */

const STALL_MS = 4_000;
/** The fake waits this long before dispatching, so the stall has begun when the frame arrives. */
const DELAY_MS = 300;

let db: TestDb & { drop(): Promise<void> };
let fake: FakeDiscordProcess;
let bot: Bot;

beforeAll(async () => {
  db = await createTestDb(4);
  fake = await startFakeDiscordProcess();
  const { ready } = fake;
  const org = await makeOrg(db.app, 'Stall');
  const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
  await redeemGuildLinkCode(db.app, { code, guildId: ready.guildId, guildName: 'Bench' }, org.owner);
  await withTenant(db.app, org.orgId, (tx) =>
    setRoleMapping(
      tx,
      { guildId: ready.guildId, discordRoleId: ready.moderatorRoleId, roleKey: 'moderator' },
      SYSTEM,
    ),
  );
  const secret = randomSecretKey();
  bot = createBot({
    pool: db.app,
    logger: pino({ level: 'silent' }),
    apiUrl: `${ready.url}/api`,
    messageContent: true,
    box: createSecretBox(secret),
    ticketPages: createTicketPages(secret, 'http://panel.test'),
  });
  await bot.start(ready.token);
}, 60_000);

afterAll(async () => {
  await bot?.stop(5_000);
  await fake?.stop();
  await db?.drop();
});

/** Blocks this thread (the bot's main thread) without yielding, as a stuck handler would. */
function stall(ms: number): number {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: no timer, no I/O callback, no message from the gateway thread runs meanwhile
  }
  return until;
}

describe('a stalled main thread', () => {
  it('loses an interaction only the main thread can acknowledge', async () => {
    const round = fake.play({
      rate: 1,
      ms: 1,
      delayMs: DELAY_MS,
      waitForAnswers: false,
      userIds: 'players',
      sub: 'open',
    });
    stall(STALL_MS);
    const m = await round;
    expect(m.acks).toEqual([null]);
  }, 30_000);

  it('still has a deferred command acknowledged by the gateway thread, and answers it afterwards', async () => {
    const round = fake.play({
      rate: 1,
      ms: 1,
      delayMs: DELAY_MS,
      waitForAnswers: true,
      userIds: 'staff',
      sub: 'info',
    });
    const stallEnd = stall(STALL_MS);
    const m = await round;
    const [, sentAt] = m.sent[0] ?? ['', 0];
    expect(m.ackTypes).toEqual([5]);
    // Acknowledged while the main thread was blocked...
    expect(sentAt + (m.acks[0] ?? Number.POSITIVE_INFINITY)).toBeLessThan(stallEnd);
    // ...and answered by it once it ran again.
    expect(m.answers[0]).not.toMatch(/no answer/);
    expect(m.answers[0]).not.toBe('');
    expect(sentAt + (m.answerMs[0] ?? 0)).toBeGreaterThanOrEqual(stallEnd);
  }, 30_000);
});
