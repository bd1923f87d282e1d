import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { pino } from 'pino';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import type { Pool } from '../../db/pool.js';
import { seedDemoIfEmpty } from '../../db/seed.js';
import { demoUserId } from '../../db/seed-users.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { type Caller, startTestApi, type TestApi } from '../api/support.js';
import type { TestDb } from '../support/db.js';

/** Debian's chromium; CI installs it in .ci/run. PANEL_CHROMIUM points elsewhere if needed. */
export const CHROMIUM = process.env.PANEL_CHROMIUM ?? '/usr/bin/chromium';
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let shared: Promise<Browser> | undefined;

/**
 * The test process's Chromium, launched by the first file that asks. Test files run one after
 * another in a few long-lived processes (isolate: false), so one launch serves them all; each
 * file works in browser contexts of its own (fresh cookies, storage and cache) and closes them
 * with `closeContextsSince`. Playwright kills the browser when the process exits.
 */
export async function sharedBrowser(): Promise<Browser> {
  const current = await shared?.catch(() => undefined);
  if (current?.isConnected()) return current;
  // launch() gives the browser a fresh temporary profile of its own, removed when it ends.
  shared = chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  return shared;
}

/**
 * Closes the contexts of `browser` opened since `before` (a file's, when it ends): pages left
 * open would keep polling and reconnecting to servers already gone, on the next file's time.
 */
export async function closeContextsSince(browser: Browser, before: ReadonlySet<BrowserContext>) {
  await Promise.all(
    browser
      .contexts()
      .filter((c) => !before.has(c))
      .map((c) => c.close()),
  );
}

/**
 * Screenshots land here (git-ignored) when PANEL_SCREENSHOTS=1: one full page per `shot`, to look
 * at a run's pages by eye. No test compares them, and each costs half a second or more of a
 * loaded machine, so a plain run takes none.
 */
export const ARTIFACTS = join(process.cwd(), 'test-results', 'panel');
const SCREENSHOTS = process.env.PANEL_SCREENSHOTS === '1';

export interface PanelRig {
  api: TestApi;
  url: string;
  browser: Browser;
  workers: WorkerRuntime;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A real listening API on 127.0.0.1 with the demo workspace and the demo sign-in on (as in
 * development), the outbox relay running (live updates), and the process's headless Chromium;
 * closing the rig closes the browser contexts opened since it started.
 */
export async function startPanelRig(
  pool: Pool,
  /** Settings over the rig's own, e.g. a shorter live session re-check. */
  opts: { settings?: NonNullable<Parameters<typeof startTestApi>[1]>['settings'] } = {},
): Promise<PanelRig> {
  await seedDemoIfEmpty(pool, pino({ level: 'silent' }));
  // The WebSocket checks Origin against PUBLIC_URL, so the port is chosen before the app is built.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = await startTestApi(pool, {
    settings: { publicUrl: url, demoSignIn: true, now: Date.now, ...opts.settings },
  });
  await api.app.listen({ host: '127.0.0.1', port });
  const workers = await startWorkerRuntime({
    pool,
    redisUrl: inject('services').redisUrl,
    logger: pino({ level: 'silent' }),
    box: createSecretBox(randomSecretKey()),
    webhookTargets: { allowLoopback: true, allowPrivate: false },
    prefix: `panel-${randomBytes(4).toString('hex')}`,
    schedulers: false,
    processors: false,
    relay: { pollMs: 100 },
  });
  let browser: Browser;
  try {
    browser = await sharedBrowser();
  } catch (err) {
    await workers.stop();
    await api.close();
    throw err;
  }
  const before = new Set(browser.contexts());
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    api,
    url,
    browser,
    workers,
    async close() {
      await closeContextsSince(browser, before);
      await workers.stop();
      await api.close();
    },
  };
}

/** Every console error and page error of a page, to assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/**
 * Counts the page's fetches still waiting for their answer, for `fetchesAnswered`: a context's
 * init script (`ctx.addInitScript(COUNT_FETCHES)`, before its pages load).
 */
export const COUNT_FETCHES = `{
  window.__inflight = 0;
  const fetch = window.fetch;
  window.fetch = (...args) => {
    window.__inflight += 1;
    return fetch(...args).finally(() => { window.__inflight -= 1; });
  };
}`;

/**
 * Until every fetch the page made has its answer and none has started for three frames (a
 * section's later loads start in effects after a render), so checks see the page with all its
 * data: the network going quiet, without waiting half a second to be sure as networkidle does.
 */
export const fetchesAnswered = (page: Page) =>
  page.evaluate(`new Promise((resolve, reject) => {
    if (typeof window.__inflight !== 'number') throw new Error('this page does not count its fetches');
    const giveUp = setTimeout(() => reject(new Error(window.__inflight + ' fetches still waiting')), 8000);
    let quiet = 0;
    const frame = () => {
      quiet = window.__inflight > 0 ? 0 : quiet + 1;
      if (quiet < 3) return requestAnimationFrame(frame);
      clearTimeout(giveUp);
      resolve();
    };
    requestAnimationFrame(frame);
  })`);

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Violations only: axe then skips building selectors for every passing node (its documented
  // performance option), which this check never reads. Legacy mode runs axe.run in the page
  // itself; the default runs it in parts per frame and merges them in a blank page opened for
  // each check (2-4 s of every check under load), which only pays for cross-origin iframes, and
  // the panel has no iframe at all: the same rules run on the same document either way.
  const result = await new AxeBuilder({ page })
    .options({ resultTypes: ['violations'] })
    .setLegacyMode()
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

export const shot = async (page: Page, name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
};

/**
 * Holds back the answer to the next GET whose URL `matches`: the request reaches the API at once
 * (so the answer is the state of that moment), and the page gets it only on `release()`. What a
 * slow network does to an answer that later ones overtake.
 */
export async function holdNextAnswer(page: Page, matches: (url: URL) => boolean) {
  let armed = true;
  let fetched = () => {};
  let release = () => {};
  let fulfilled = () => {};
  const wasFetched = new Promise<void>((r) => {
    fetched = r;
  });
  const released = new Promise<void>((r) => {
    release = r;
  });
  const wasFulfilled = new Promise<void>((r) => {
    fulfilled = r;
  });
  await page.route(matches, async (route) => {
    if (route.request().method() !== 'GET' || !armed) return route.continue();
    armed = false;
    const response = await route.fetch();
    fetched();
    await released;
    await route.fulfill({ response });
    fulfilled();
  });
  return {
    /** Resolves once the held request has its answer from the API. */
    fetched: wasFetched,
    release,
    /** Resolves once the page has the held answer, two frames later (time to render it). */
    delivered: wasFulfilled.then(() =>
      page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))'),
    ),
    stop: () => page.unroute(matches),
  };
}

/**
 * A panel rig on the demo workspace for a test file: its org, the admin's API session, a call to
 * the org's API as that admin (refusing any non-2xx), and browser contexts signed in through the
 * demo door as any seeded role. The rig starts before the file's tests and closes after them.
 */
export function demoDesk(db: TestDb, opts: Parameters<typeof startPanelRig>[1] = {}) {
  const desk = {
    rig: undefined as unknown as PanelRig,
    orgId: '',
    admin: undefined as unknown as Caller,
    /** One row of a query run as the database owner. */
    row: async (sql: string, params: unknown[]) => (await db.admin.query(sql, params)).rows[0],
    async call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
      const res = await desk.rig.api.call(desk.admin, {
        method,
        url: `/v1/orgs/${desk.orgId}${url}`,
        payload: payload as object,
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json();
    },
    async signedIn(role: string): Promise<{ ctx: BrowserContext; page: Page }> {
      const ctx = await desk.rig.browser.newContext({
        baseURL: desk.rig.url,
        viewport: { width: 1280, height: 900 },
      });
      ctx.setDefaultTimeout(8000);
      const page = await ctx.newPage();
      await page.goto(`/auth/demo?as=${role}`);
      await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
      return { ctx, page };
    },
  };
  beforeAll(async () => {
    desk.rig = await startPanelRig(db.app, opts);
    const adminId = (await demoUserId(db.app, 'admin')) as string;
    desk.admin = await desk.rig.api.sessionFor(adminId);
    desk.orgId = (await desk.row('select org_id as id from memberships where user_id = $1', [adminId]))?.id;
  }, 60_000);
  afterAll(async () => {
    await desk.rig?.close();
  });
  return desk;
}
