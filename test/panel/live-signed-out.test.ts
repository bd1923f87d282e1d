import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoUserId } from '../../db/seed-users.js';
import { useTestDb } from '../support/db.js';
import { type PanelRig, startPanelRig } from './support.js';

const db = useTestDb();
let rig: PanelRig;
let orgId: string;

const row = async (sql: string, params: unknown[]) => (await db.admin.query(sql, params)).rows[0];

async function signedIn(role: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(8000);
  const page = await ctx.newPage();
  await page.goto(`/auth/demo?as=${role}`);
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
  return { ctx, page };
}

beforeAll(async () => {
  rig = await startPanelRig(db.app, { settings: { liveRecheckMs: 300 } });
  const adminId = (await demoUserId(db.app, 'admin')) as string;
  orgId = (await row('select org_id as id from memberships where user_id = $1', [adminId]))?.id;
}, 60_000);
afterAll(async () => {
  await rig?.close();
});

describe('a sign-in that ends while the panel is open', () => {
  it('says so with a sign-in link and stops reconnecting', async () => {
    const { ctx, page } = await signedIn('admin');
    try {
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.goto(`/o/${orgId}`);
      await page.locator('.live-dot.on').waitFor();
      const opened = sockets.length;
      // Signed out from elsewhere (another tab of the same browser): the socket's re-check ends it.
      const session = await (await ctx.request.get('/auth/session')).json();
      const out = await ctx.request.post('/auth/logout', { headers: { 'x-csrf-token': session.csrfToken } });
      expect(out.status()).toBeLessThan(300);
      const note = page.locator('.signed-out');
      await note.waitFor();
      expect(await note.textContent()).toContain('You were signed out');
      expect(await note.getByRole('link', { name: 'Sign in again' }).getAttribute('href')).toBe(
        `/o/${orgId}`,
      );
      // The first retry would come after 500 ms: none comes within twice that.
      await page.waitForTimeout(1500);
      expect(sockets.length).toBe(opened);
      expect(await page.locator('.live-dot.on').count()).toBe(0);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});
