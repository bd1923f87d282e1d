import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { demoUserId } from '../../db/seed-users.js';
import { useTestDb } from '../support/db.js';
import { demoDesk } from './support.js';

const db = useTestDb();
const desk = demoDesk(db);
const { call, signedIn } = desk;
const RUN = Date.now().toString(36);

async function openTicket(page: Page, subject: string) {
  const t = await call('POST', '/tickets', { subject });
  const roles = page.waitForResponse((r) => r.url().endsWith('/roles'));
  await page.goto(`/o/${desk.orgId}/t/${t.id}`);
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
      expect(await link.getAttribute('href')).toBe(`/o/${desk.orgId}/t/${target.id}`);
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
      await page.goto(`/o/${desk.orgId}`);
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

describe('staff presence', () => {
  it("shows the assignee's presence by the picker, and their Away chosen in the header at once", async () => {
    const agent = await signedIn('agent');
    const admin = await signedIn('admin');
    try {
      const agentId = (await demoUserId(db.app, 'agent')) as string;
      const { displayName } = (await desk.row(
        'select display_name as "displayName" from users where id = $1',
        [agentId],
      )) as { displayName: string };
      // The agent's open panel (its socket following the org) is the agent online.
      const chooser = agent.page.getByLabel('Your presence');
      await expect.poll(() => chooser.inputValue()).toBe('online');
      const t = await openTicket(admin.page, `Presence ${RUN}`);
      await call('POST', `/tickets/${t.id}/assign`, { assigneeId: agentId });
      const dot = admin.page.locator('label[for="assign-select"] .presence-dot');
      await expect.poll(() => dot.getAttribute('aria-label')).toBe(`${displayName}: online`);
      // Someone never seen is offline, said in words where a dot can't go.
      const options = await admin.page.locator('#assign-select option').allTextContents();
      expect(options.some((o) => o.endsWith('(offline)'))).toBe(true);
      await chooser.selectOption('away');
      await expect.poll(() => dot.getAttribute('aria-label')).toBe(`${displayName}: away`);
      // The ticket's header says it by the assignee's name too.
      expect(await admin.page.locator('.ticket-head .presence-dot').getAttribute('aria-label')).toBe(
        `${displayName}: away`,
      );
      expect(
        await admin.page.locator('#assign-select option', { hasText: `${displayName} (away)` }).count(),
      ).toBe(1);
      await chooser.selectOption('online');
      await expect.poll(() => dot.getAttribute('aria-label')).toBe(`${displayName}: online`);
    } finally {
      await agent.ctx.close();
      await admin.ctx.close();
    }
  }, 60_000);
});
