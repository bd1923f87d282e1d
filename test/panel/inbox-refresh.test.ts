import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoUserId } from '../../db/seed-users.js';
import type { Caller } from '../api/support.js';
import { useTestDb } from '../support/db.js';
import { type PanelRig, startPanelRig } from './support.js';

const db = useTestDb();
let rig: PanelRig;
let orgId: string;
let admin: Caller;
const RUN = Date.now().toString(36);
const row = async (sql: string, params: unknown[]) => (await db.admin.query(sql, params)).rows[0];
const call = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
  const res = await rig.api.call(admin, {
    method,
    url: `/v1/orgs/${orgId}${url}`,
    payload: payload as object,
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
};

async function signedIn(role: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(8000);
  const page = await ctx.newPage();
  await page.goto(`/auth/demo?as=${role}`);
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
  return { ctx, page };
}

beforeAll(async () => {
  rig = await startPanelRig(db.app);
  const adminId = (await demoUserId(db.app, 'admin')) as string;
  admin = await rig.api.sessionFor(adminId);
  orgId = (await row('select org_id as id from memberships where user_id = $1', [adminId]))?.id;
}, 60_000);
afterAll(async () => {
  await rig?.close();
});

/**
 * Every row's number and priority: past 150 rows the list renders only those near the viewport,
 * so the page is scrolled through from the top, a frame given to each step.
 */
async function rows(page: Page): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  await page.evaluate('scrollTo(0, 0)');
  for (;;) {
    const frame =
      (await page.evaluate(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))).then(() =>
      [...document.querySelectorAll('ol.ticket-list a.ticket')].map((a) => [
        a.querySelector('.num')?.textContent ?? '',
        [...a.querySelectorAll('.meta .badge')].map((b) => b.className).join(' '),
      ]))`)) as [string, string][];
    for (const [n, cls] of frame) seen.set(n, cls);
    const moved = await page.evaluate(
      '(() => { const y = scrollY; scrollBy(0, innerHeight / 2); return scrollY !== y; })()',
    );
    if (!moved) break;
  }
  return seen;
}

const status = (page: Page) => page.locator('p.list-status').textContent();

describe('inbox live refresh with more than 100 rows loaded', () => {
  it('keeps every row when a ticket arrives at the top, and refreshes the rows below 100', async () => {
    for (let i = 0; i < 160; i++) await call('POST', '/tickets', { subject: `Refresh ${RUN} ${i}` });
    const { ctx, page } = await signedIn('admin');
    try {
      await page.goto(`/o/${orgId}`);
      await page.locator('ol.ticket-list a.ticket').first().waitFor();
      for (let i = 0; i < 2; i++) {
        const before = await status(page);
        await page.getByRole('button', { name: 'Load more' }).click();
        await expect.poll(() => status(page)).not.toBe(before);
      }
      const before = [...(await rows(page)).keys()];
      expect(before.length).toBe(150);
      // A row below the refreshed top changes elsewhere: the list must show its new priority.
      const low = before[120] as string;
      const lowId = (
        await row('select id from tickets where org_id = $1 and number = $2', [orgId, Number(low.slice(1))])
      )?.id as string;
      await call('POST', `/tickets/${lowId}/priority`, { priority: 'urgent' });
      const created = await call('POST', '/tickets', { subject: `Refresh ${RUN} late` });
      const num = `#${created.number ?? created.ticket?.number}`;
      await page.evaluate('scrollTo(0, 0)');
      await page.locator('ol.ticket-list a.ticket .num', { hasText: num }).first().waitFor();
      const after = await rows(page);
      expect({ missing: before.filter((n) => !after.has(n)), shown: after.size }).toEqual({
        missing: [],
        shown: 151,
      });
      expect(after.get(low)).toContain('prio-urgent');
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
