import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { demoDesk } from './support.js';

const db = useTestDb();
const desk = demoDesk(db);
const { row, call, signedIn } = desk;
const RUN = Date.now().toString(36);

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
      await page.goto(`/o/${desk.orgId}`);
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
        await row('select id from tickets where org_id = $1 and number = $2', [
          desk.orgId,
          Number(low.slice(1)),
        ])
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
