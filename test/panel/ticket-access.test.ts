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

async function openTicket(page: Page, subject: string) {
  const t = await call('POST', '/tickets', { subject });
  const roles = page.waitForResponse((r) => r.url().endsWith('/roles'));
  await page.goto(`/o/${orgId}/t/${t.id}`);
  await page
    .getByRole('heading', { level: 1 })
    .filter({ hasText: `#${t.number}` })
    .waitFor();
  await roles;
  return t as { id: string; number: number };
}

describe('a ticket merged into another', () => {
  it('links to the target, offers no change or composer, and moves the draft there', async () => {
    const { ctx, page } = await signedIn('admin');
    try {
      const target = await call('POST', '/tickets', { subject: `Merge target ${RUN}` });
      const t = await openTicket(page, `Merged away ${RUN}`);
      const draft = `Draft written before the merge ${RUN}`;
      await page.locator('#composer-text').fill(draft);
      await call('POST', `/tickets/${t.id}/merge`, { targetId: target.id });
      const link = page.locator('.merged-into a');
      await expect.poll(() => link.textContent()).toBe(`#${target.number}`);
      expect(await link.getAttribute('href')).toBe(`/o/${orgId}/t/${target.id}`);
      for (const name of ['Reopen', /Close ticket/, /claim/i, 'Send reply'])
        expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
      expect(
        await page.locator('#status-select, #priority-select, #merge-number, #composer-text').count(),
      ).toBe(0);
      await link.click();
      await page
        .getByRole('heading', { level: 1 })
        .filter({ hasText: `#${target.number}` })
        .waitFor();
      expect(await page.locator('#composer-text').inputValue()).toBe(draft);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});

describe('a viewer', () => {
  it('gets no tick boxes in the inbox and no write control on a ticket', async () => {
    const { ctx, page } = await signedIn('viewer');
    try {
      const roles = page.waitForResponse((r) => r.url().endsWith('/roles'));
      await page.goto(`/o/${orgId}`);
      await page.locator('ol.ticket-list a.ticket').first().waitFor();
      await roles;
      expect(await page.locator('input.pick').count()).toBe(0);
      await page.keyboard.press('x');
      expect(await page.locator('section.bulk').count()).toBe(0);

      await openTicket(page, `Viewer ${RUN}`);
      expect(
        await page.getByRole('button', { name: 'Send reply' }).and(page.locator(':enabled')).count(),
      ).toBe(0);
      for (const name of [/claim/i, /Close ticket/, 'Reopen'])
        expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
      expect(await page.locator('#composer-text:not([readonly]):enabled').count()).toBe(0);
      expect(
        await page.locator('#status-select, #priority-select, #assign-select, #merge-number').count(),
      ).toBe(0);
      await expect.poll(() => page.locator('main').textContent()).toContain('Your role can read this ticket');
    } finally {
      await ctx.close();
    }
  }, 60_000);
});
