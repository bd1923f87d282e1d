import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { buildApp } from '../api/app.js';
import { createSession } from '../api/sessions.js';
import { SYSTEM } from '../db/changes.js';
import { createOrganization } from '../db/organizations.js';
import { createPool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { createUser } from '../db/users.js';
import { startRedis } from '../lib/local-stack/index.js';
import { freePort } from '../lib/local-stack/ports.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { LocalStorage } from '../lib/storage/index.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';

const TICKETS = 1000;
const RUNS = 5;
const JS_BUDGET_KB = 100;
const INTERACTIVE_BUDGET_MS = 1000;
const OPEN_BUDGET_MS = 200;
const CHROMIUM = process.env.PANEL_CHROMIUM ?? '/usr/bin/chromium';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');

/**
 * The panel's first load in Chromium, on loopback, with 1,000 open tickets: JavaScript bytes on
 * the wire (compressed), time until the inbox is on screen and answers keys, and opening a ticket.
 * Each figure is the median of fresh browser contexts (empty cache), so no run profits from another.
 */
async function run(log: (msg: string) => void): Promise<void> {
  await withCluster(log, async (pgh) => {
    const redisDir = mkdtempSync(join(tmpdir(), 'gamemod-bench-redis-'));
    const redisServer = await startRedis({
      dir: redisDir,
      port: await freePort(),
      install: true,
      durable: false,
      log,
    });
    const pool = createPool({
      url: pgh.urlFor('app'),
      max: 8,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
    });
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    const storageDir = mkdtempSync(join(tmpdir(), 'gamemod-bench-files-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const app = await buildApp({
      pool,
      redis,
      logger: pino({ level: 'silent' }),
      storage: new LocalStorage(storageDir),
      settings: { publicUrl: url, secretKey: randomSecretKey(), cookieSecure: false },
      rateLimits: { default: { burst: 100_000, perMinute: 1_000_000 } },
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
    });
    try {
      await app.listen({ host: '127.0.0.1', port });
      const owner = await createUser(pool, { displayName: 'Bench owner' });
      const org = await createOrganization(
        pool,
        { name: 'Bench', slug: `bench-${Date.now()}`, ownerUserId: owner.id },
        SYSTEM,
      );
      const started = Date.now();
      await withTenant(pool, org.id, async (tx) => {
        for (let i = 0; i < TICKETS; i++) {
          await openTicket(
            tx,
            { subject: `Ticket ${i}: cannot join the match`, body: 'Stuck on loading.', origin: 'api' },
            { type: 'user', id: owner.id },
          );
        }
      });
      log(`${TICKETS} tickets created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const { token } = await createSession(redis, owner.id, 'none', {
        idleSeconds: 3600,
        absoluteSeconds: 3600,
        now: Date.now,
      });

      const jsKb: number[] = [];
      const interactive: number[] = [];
      const open: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const ctx = await browser.newContext({ baseURL: url });
        await ctx.addCookies([{ name: 'gm_session', value: token, url }]);
        const page = await ctx.newPage();
        let js = 0;
        // Content-Length is what went over the wire: the server sends the compressed bytes.
        page.on('response', (res) => {
          const h = res.headers();
          if (h['content-type']?.includes('javascript')) js += Number(h['content-length'] ?? 0);
        });
        const t0 = Date.now();
        await page.goto(`/o/${org.id}`);
        await page.locator('ol.ticket-list > li').first().waitFor();
        await page.keyboard.press('j');
        await page.locator('ol.ticket-list > li.selected').nth(0).waitFor();
        interactive.push(Date.now() - t0);
        await page.waitForLoadState('networkidle');
        jsKb.push(js / 1024);
        const t1 = Date.now();
        await page.locator('ol.ticket-list a').first().click();
        await page.getByRole('heading', { name: 'Conversation' }).waitFor();
        await page.locator('li.msg').first().waitFor();
        open.push(Date.now() - t1);
        await ctx.close();
      }
      const kb = median(jsKb);
      const tti = median(interactive);
      const opening = median(open);
      log(
        `JavaScript transferred on first load: ${kb.toFixed(1)} KB (budget ${JS_BUDGET_KB} KB): ${verdict(kb <= JS_BUDGET_KB)}`,
      );
      log(
        `inbox interactive with ${TICKETS} tickets: ${tti} ms median of ${RUNS} (budget ${INTERACTIVE_BUDGET_MS} ms): ${verdict(tti <= INTERACTIVE_BUDGET_MS)}`,
      );
      log(
        `opening a ticket: ${opening} ms median (budget ${OPEN_BUDGET_MS} ms): ${verdict(opening <= OPEN_BUDGET_MS)}`,
      );
    } finally {
      await browser.close();
      await app.close();
      redis.disconnect();
      await pool.end();
      await redisServer.stop({ kill: true }).catch(() => {});
      rmSync(redisDir, { recursive: true, force: true });
      rmSync(storageDir, { recursive: true, force: true });
    }
  });
}

export const panel: Benchmark = {
  name: 'panel',
  description: 'panel first load in Chromium with 1,000 tickets: JS KB, interactive ms, ticket open ms',
  run,
};
