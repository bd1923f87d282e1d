import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { collectErrors, demoDesk, holdNextAnswer, seriousViolations } from './support.js';

/**
 * Two people on one ticket, in real headless Chromium against a real API: a change made from a
 * view someone else has since changed is refused (If-Match, 412) instead of silently undoing
 * theirs, and the moderator sees the ticket reloaded and is told why.
 */
const db = useTestDb();
const desk = demoDesk(db);
const { call, row } = desk;
let ctx: BrowserContext;
let page: Page;
let errors: string[];
const RUN = Date.now().toString(36);

beforeAll(async () => {
  ctx = await desk.rig.browser.newContext({ baseURL: desk.rig.url, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(8000);
  page = await ctx.newPage();
  errors = collectErrors(page);
  await page.goto('/auth/demo?as=admin');
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
}, 60_000);
afterAll(async () => {
  await ctx?.close();
});

describe('a ticket changed by someone else meanwhile', () => {
  it('refuses the stale change, reloads the ticket with theirs and tells the moderator', async () => {
    const t = await call('POST', '/tickets', { subject: `Conflict ${RUN}` });
    await page.goto(`/o/${desk.orgId}/t/${t.id}`);
    await page
      .getByRole('heading', { level: 1 })
      .filter({ hasText: `#${t.number}` })
      .waitFor();
    const path = `/v1/orgs/${desk.orgId}/tickets/${t.id}`;
    const writes: Array<string | undefined> = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname.startsWith(`${path}/`))
        writes.push(r.headers()['if-match']);
    });
    // The live update of the other change is still on its way when the moderator acts: its load
    // is held back, so the page still shows (and holds the version of) the ticket as it was.
    const held = await holdNextAnswer(page, (url) => url.pathname === path);
    try {
      await call('PATCH', `/tickets/${t.id}`, { subject: `Conflict ${RUN} renamed by a colleague` });
      await held.fetched;
      expect(await page.getByRole('heading', { level: 1 }).textContent()).not.toContain('renamed');

      await page.locator('#status-select').selectOption('pending');
      const alert = page.locator('.changed-elsewhere');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('Someone else changed this ticket');
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatch(/^W\/"\d+"$/);
      // Nothing of the stale change was made; the view shows the colleague's.
      expect((await row('select status, subject from tickets where id = $1', [t.id])) ?? {}).toEqual({
        status: 'open',
        subject: `Conflict ${RUN} renamed by a colleague`,
      });
      await page.getByRole('heading', { level: 1 }).filter({ hasText: 'renamed by a colleague' }).waitFor();
      expect(await page.locator('#status-select').inputValue()).toBe('open');
      expect(await seriousViolations(page)).toEqual([]);
      // The held answer, older than the reload, lands after it and is not shown over it.
      held.release();
      await held.delivered;
      expect(await page.locator('.changed-elsewhere').count()).toBe(1);
    } finally {
      held.release();
      await held.stop();
    }

    // Made again on the ticket as it now is, the change goes through and the notice goes away.
    await page.locator('#status-select').selectOption('pending');
    await page.locator('.changed-elsewhere').waitFor({ state: 'detached' });
    await expect
      .poll(async () => (await row('select status from tickets where id = $1', [t.id]))?.status)
      .toBe('pending');
    expect(writes).toHaveLength(2);
    expect(writes[1]).not.toBe(writes[0]);
    expect(errors.filter((e) => !e.includes('412'))).toEqual([]);
  });
});
