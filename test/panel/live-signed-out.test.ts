import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { demoUserId } from '../../db/seed-users.js';
import { useTestDb } from '../support/db.js';
import { demoDesk } from './support.js';

const db = useTestDb();
const desk = demoDesk(db, { settings: { liveRecheckMs: 300 } });
const { signedIn } = desk;

/**
 * Runs the page's clock 2 s ahead at once (the page's timers run on Playwright's clock, installed
 * before it loaded) and says whether it opened a socket meanwhile: a reconnect is a timer (500 ms
 * after a close, doubling), so one scheduled would have fired. A page timer of the same 500 ms set
 * alongside must fire, or the window proves nothing.
 */
async function reconnectsWithin2s(page: Page, sockets: string[]): Promise<boolean> {
  const before = sockets.length;
  await page.evaluate('window.__control = false; setTimeout(() => { window.__control = true; }, 500)');
  await page.clock.runFor(2000);
  expect(await page.evaluate('window.__control'), 'a 500 ms timer fired in the window').toBe(true);
  return sockets.length > before;
}

describe('a sign-in that ends while the panel is open', () => {
  it('says so with a sign-in link and stops reconnecting', async () => {
    const { ctx, page } = await signedIn('admin');
    try {
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.clock.install();
      await page.goto(`/o/${desk.orgId}`);
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
        `/o/${desk.orgId}`,
      );
      // The first retry would come 500 ms after the close: none comes within four times that.
      expect(await reconnectsWithin2s(page, sockets)).toBe(false);
      expect(sockets.length).toBe(opened);
      expect(await page.locator('.live-dot.on').count()).toBe(0);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});

describe('access to the organization ends while the panel is open', () => {
  it('stops reconnecting, says so and leaves the organization', async () => {
    const { ctx, page } = await signedIn('agent');
    try {
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.clock.install();
      await page.goto(`/o/${desk.orgId}`);
      await page.locator('.live-dot.on').waitFor();
      const opened = sockets.length;
      const { name } = await desk.row('select name from organizations where id = $1', [desk.orgId]);
      // An admin removes the member: the socket's re-check closes it with 4003.
      const agentId = await demoUserId(db.app, 'agent');
      const removed = await desk.rig.api.call(desk.admin, {
        method: 'DELETE',
        url: `/v1/orgs/${desk.orgId}/members/${agentId}`,
      });
      expect(removed.statusCode, removed.body).toBe(200);
      // The re-check runs every 300 ms; the note shows as the socket closes, and the first retry
      // would come 500 ms after that.
      const note = page.locator('.access-ended');
      await note.waitFor();
      expect(await note.textContent()).toContain(`Your access to ${name} ended`);
      expect(await reconnectsWithin2s(page, sockets), 'the panel reconnected after 4003').toBe(false);
      expect(sockets.length, 'the panel reconnected after 4003').toBe(opened);
      // Out of the organization: its inbox is gone, the page is the no-organization state.
      await page.waitForURL((u) => !u.pathname.startsWith(`/o/${desk.orgId}`));
      await page.getByRole('heading', { name: 'No organization yet' }).waitFor();
      expect(sockets.length).toBe(opened);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});
