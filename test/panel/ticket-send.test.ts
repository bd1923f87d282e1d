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

const messagesWith = async (ticketId: string, body: string) =>
  Number(
    (
      await row('select count(*)::int as n from messages where ticket_id = $1 and body = $2', [
        ticketId,
        body,
      ])
    )?.n,
  );

async function openTicket(page: Page, subject: string) {
  const t = await call('POST', '/tickets', { subject });
  await page.goto(`/o/${orgId}/t/${t.id}`);
  await page
    .getByRole('heading', { level: 1 })
    .filter({ hasText: `#${t.number}` })
    .waitFor();
  return t as { id: string; number: number };
}

describe('sending a reply', () => {
  it('sends after a refusal once the ticket is reopened, with a new key', async () => {
    const { ctx, page } = await signedIn('admin');
    try {
      const t = await openTicket(page, `Refused ${RUN}`);
      const body = `Sent after reopening ${RUN}`;
      await page.locator('#composer-text').fill(body);
      await call('POST', `/tickets/${t.id}/close`);
      await page.getByRole('button', { name: 'Reopen' }).waitFor();
      await page.getByRole('button', { name: 'Send reply' }).click();
      await expect.poll(() => page.locator('#err-compose').textContent()).toMatch(/closed/);
      await page.getByRole('button', { name: 'Reopen' }).click();
      await page.getByRole('button', { name: /Close ticket/ }).waitFor();
      await page.getByRole('button', { name: 'Send reply' }).click();
      await expect.poll(() => messagesWith(t.id, body)).toBe(1);
      await expect.poll(() => page.locator('#composer-text').inputValue()).toBe('');
      expect(await page.locator('#err-compose').count()).toBe(0);
    } finally {
      await ctx.close();
    }
  }, 60_000);

  it('sends once and shows no refusal when Ctrl+Enter is pressed twice', async () => {
    const { ctx, page } = await signedIn('admin');
    try {
      const t = await openTicket(page, `Twice ${RUN}`);
      const body = `Ctrl+Enter twice ${RUN}`;
      await page.locator('#composer-text').fill(body);
      // The first send is held on its way until the second press, so the two overlap for sure.
      let posts = 0;
      let release = () => {};
      const pressed = new Promise<void>((r) => {
        release = r;
      });
      await page.route(`**/v1/orgs/${orgId}/tickets/${t.id}/replies`, async (route) => {
        posts += 1;
        if (posts === 1) await pressed;
        await route.continue();
      });
      await page.locator('#composer-text').press('Control+Enter');
      await expect.poll(() => posts).toBe(1);
      await page.locator('#composer-text').press('Control+Enter');
      release();
      await expect.poll(() => messagesWith(t.id, body)).toBe(1);
      await expect.poll(() => page.locator('#composer-text').inputValue()).toBe('');
      expect(await page.locator('#err-compose').count()).toBe(0);
      expect(posts).toBe(1);
    } finally {
      await ctx.close();
    }
  }, 60_000);
});
