import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBot } from '../../bot/bot.js';
import { startBot } from '../../bot/index.js';
import { restartDecision } from '../../bot/start-errors.js';
import { loadConfig } from '../../lib/config.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { createTicketPages } from '../../lib/ticket-links.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';

let db: TestDb & { drop(): Promise<void> };
let fake: FakeDiscord;
let noIntent: FakeDiscord;

beforeAll(async () => {
  db = await createTestDb(2);
  fake = await startFakeDiscord();
  noIntent = await startFakeDiscord({ messageContentIntent: false });
}, 60_000);

afterAll(async () => {
  await fake?.close();
  await noIntent?.close();
  await db?.drop();
});

function bot(apiUrl: string, messageContent = true) {
  return createBot({
    pool: db.app,
    logger: pino({ level: 'silent' }),
    apiUrl,
    messageContent,
    box: createSecretBox(randomSecretKey()),
    ticketPages: createTicketPages(randomSecretKey(), 'http://127.0.0.1'),
  });
}

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  return { lines, logger };
}

/** Polls a condition (not a timing assertion). */
async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('starting the bot', () => {
  it('a wrong token fails at once, fatal, saying to fix DISCORD_TOKEN', async () => {
    const b = bot(`${fake.url}/api`);
    await expect(b.start('not-the-token')).rejects.toMatchObject({
      fatal: true,
      message: expect.stringMatching(/DISCORD_TOKEN/),
    });
    await b.stop(0);
  });

  it('a refused Message Content intent (4014) fails at once, naming DISCORD_MESSAGE_CONTENT=false', async () => {
    const b = bot(`${noIntent.url}/api`);
    await expect(b.start(noIntent.botToken)).rejects.toMatchObject({
      fatal: true,
      closeCode: 4014,
      message: expect.stringMatching(/DISCORD_MESSAGE_CONTENT=false/),
    });
    await b.stop(0);
    const ok = bot(`${noIntent.url}/api`, false);
    await ok.start(noIntent.botToken);
    expect(ok.client.isReady()).toBe(true);
    await ok.stop(0);
  });

  it('gives up when nothing made progress for the stall time', async () => {
    const b = bot(`${fake.url}/api`);
    await expect(b.start(fake.botToken, { stallMs: 1 })).rejects.toMatchObject({
      fatal: false,
      message: expect.stringMatching(/for 1 ms/),
    });
    await b.stop(0);
  });

  it('in the all-in-one process a failed bot start leaves the other roles running', async () => {
    const { lines, logger } = capture();
    const ctx = { pool: db.app, redisUrl: inject('services').redisUrl, logger, secretKey: randomSecretKey() };
    const env = { DISCORD_TOKEN: 'wrong', DISCORD_API_URL: `${fake.url}/api` };
    const role = await startBot(loadConfig({ ...env, ROLES: 'api,workers,bot' }), ctx);
    expect(role.name).toBe('bot');
    await role.stop();
    expect(lines.some((l) => l.level >= 50 && /DISCORD_TOKEN/.test(l.msg))).toBe(true);
    // A dedicated bot process still fails, so its supervisor sees it.
    await expect(startBot(loadConfig({ ...env, ROLES: 'bot' }), ctx)).rejects.toMatchObject({ fatal: true });
  });
});

describe('the bot in the all-in-one process', () => {
  /** The bot role of an all-in-one process, started while Discord answers 500 `failures` times. */
  async function startWhileFailing(failures: number) {
    const { lines, logger } = capture();
    fake.failNext({ method: 'GET', path: '/gateway/bot' }, 500, { count: failures });
    const env = {
      DISCORD_TOKEN: fake.botToken,
      DISCORD_API_URL: `${fake.url}/api`,
      ROLES: 'api,workers,bot',
    };
    const role = await startBot(loadConfig(env), {
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      secretKey: randomSecretKey(),
      logger,
    });
    return { lines, role };
  }

  it('retries a start that failed for a passing reason until Discord answers', async () => {
    // Every try of the first start fails (discord.js retries a 5xx three times itself).
    const { lines, role } = await startWhileFailing(4);
    try {
      expect(lines.some((l) => l.level >= 50 && /retrying in/.test(l.msg))).toBe(true);
      await until(() => lines.some((l) => /Discord bot started/.test(l.msg)), 15_000);
      expect(fake.frames({ direction: 'in', op: 2 }).length).toBeGreaterThan(0);
    } finally {
      await role.stop();
    }
  });

  it('stops retrying when the role is stopped while waiting', async () => {
    const { lines, role } = await startWhileFailing(100);
    await role.stop();
    const before = fake.requests({ method: 'GET', path: '/gateway/bot' }).length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(fake.requests({ method: 'GET', path: '/gateway/bot' }).length).toBe(before);
    expect(lines.some((l) => /Discord bot started/.test(l.msg))).toBe(false);
    fake.clearFaults();
  });
});

describe('shard processes', () => {
  it('are not restarted after a fatal start error, and restarted with growing delays otherwise', () => {
    expect(restartDecision({ fatal: true, recentDeaths: 0 })).toEqual({ restart: false });
    const delays = [0, 1, 2, 3, 4, 10].map((n) => restartDecision({ fatal: false, recentDeaths: n }));
    expect(delays.every((d) => d.restart)).toBe(true);
    const ms = delays.map((d) => (d.restart ? d.delayMs : 0));
    for (let i = 1; i < ms.length; i++) expect(ms[i]).toBeGreaterThanOrEqual(ms[i - 1] ?? 0);
    expect(ms[0]).toBeGreaterThanOrEqual(1000);
    expect(ms[ms.length - 1]).toBeLessThanOrEqual(5 * 60_000);
    expect(ms[ms.length - 1]).toBeGreaterThan(ms[0] ?? 0);
  });
});
