import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { demoDesk } from './support.js';

const db = useTestDb();
const desk = demoDesk(db);
const { row, call, signedIn } = desk;
const RUN = Date.now().toString(36);

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
  await page.goto(`/o/${desk.orgId}/t/${t.id}`);
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
      await page.route(`**/v1/orgs/${desk.orgId}/tickets/${t.id}/replies`, async (route) => {
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
