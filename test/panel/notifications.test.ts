import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { demoUserId } from '../../db/seed-users.js';
import { withTenant } from '../../db/tenant.js';
import { assign, openTicket } from '../../db/tickets.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { useTestDb } from '../support/db.js';
import { testDeps, uniquePrefix } from '../workers/support.js';
import { collectErrors, holdNextAnswer, type PanelRig, startPanelRig } from './support.js';

/**
 * The header's bell in real headless Chromium: a notification the workers record rings it live
 * (the unread count, over the member's own WebSocket topic), the list shows it, mark read clears it.
 */
const db = useTestDb();
let rig: PanelRig;
let ctx: BrowserContext;
let page: Page;
let errors: string[];
let orgId: string;
let adminId: string;
let env: ReturnType<typeof testDeps>;

beforeAll(async () => {
  rig = await startPanelRig(db.app);
  env = testDeps(db.app, uniquePrefix());
  adminId = (await demoUserId(db.app, 'admin')) as string;
  orgId = (await db.admin.query('select org_id from memberships where user_id = $1', [adminId])).rows[0]
    .org_id;
  ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(8000);
  page = await ctx.newPage();
  errors = collectErrors(page);
  await page.goto('/auth/demo?as=admin');
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await env?.close();
  await rig?.close();
});

describe('notification bell', () => {
  it('rings live with the unread count, lists the notification and marks it read', async () => {
    const bell = page.getByRole('button', { name: /^Notifications/ });
    await bell.waitFor();
    await expect(bell.getAttribute('aria-label')).resolves.toBe('Notifications');
    const start = Number((await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
    const ticket = await withTenant(db.app, orgId, async (tx) => {
      const { ticket } = await openTicket(tx, { subject: 'Bell rings', origin: 'panel' }, SYSTEM);
      await assign(tx, { ticketId: ticket.id, assigneeId: adminId }, SYSTEM);
      return ticket;
    });
    const rows = await db.admin.query<{ id: string }>(
      'select id from outbox where org_id = $1 and id > $2 order by id',
      [orgId, start],
    );
    for (const r of rows.rows) await notifyForEvent(env.deps, { orgId, outboxId: Number(r.id) });
    // The relay publishes the notification on the admin's topic; the badge follows without a reload.
    await page.getByTestId('unread-count').filter({ hasText: '1' }).waitFor();
    await bell.click();
    const list = page.getByRole('region', { name: 'Notifications' });
    const item = list.getByRole('link', { name: `Ticket #${ticket.number} is yours` });
    await item.waitFor();
    await list.getByRole('button', { name: 'Mark read' }).click();
    await page.getByTestId('unread-count').waitFor({ state: 'detached' });
    await expect(bell.getAttribute('aria-label')).resolves.toBe('Notifications');
    await expect(list.getByRole('button', { name: 'Mark all read' }).isDisabled()).resolves.toBe(true);
    const read = await db.admin.query('select read_at from notifications where user_id = $1', [adminId]);
    expect(read.rows.every((r) => r.read_at !== null)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps the newest unread count when an older answer comes back last', async () => {
    const assignedTicket = async (subject: string) => {
      const start = Number(
        (await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id,
      );
      await withTenant(db.app, orgId, async (tx) => {
        const { ticket } = await openTicket(tx, { subject, origin: 'panel' }, SYSTEM);
        await assign(tx, { ticketId: ticket.id, assigneeId: adminId }, SYSTEM);
      });
      const rows = await db.admin.query<{ id: string }>(
        'select id from outbox where org_id = $1 and id > $2 order by id',
        [orgId, start],
      );
      for (const r of rows.rows) await notifyForEvent(env.deps, { orgId, outboxId: Number(r.id) });
    };
    const mine = (url: URL) => url.pathname === `/v1/orgs/${orgId}/notifications`;
    // The bell's first refresh from here on gets the list as it is then, handed over when released.
    const held = await holdNextAnswer(page, mine);
    try {
      await assignedTicket('Bell, first');
      await held.fetched;
      await assignedTicket('Bell, second');
      await page.getByTestId('unread-count').filter({ hasText: '2' }).waitFor();
      held.release();
      await held.delivered;
      // The first answer (one unread) did not land over the second's.
      await expect(page.getByTestId('unread-count').textContent()).resolves.toBe('2');
    } finally {
      await held.stop();
    }
    // Left as found: everything read, the list open as the first test left it.
    const list = page.getByRole('region', { name: 'Notifications' });
    if (!(await list.isVisible())) await page.getByRole('button', { name: /^Notifications/ }).click();
    await list.getByRole('button', { name: 'Mark all read' }).click();
    await page.getByTestId('unread-count').waitFor({ state: 'detached' });
  });

  it('changes the preferences from the bell', async () => {
    const list = page.getByRole('region', { name: 'Notifications' });
    if (!(await list.isVisible())) await page.getByRole('button', { name: /^Notifications/ }).click();
    await list.getByRole('button', { name: 'Preferences' }).click();
    const form = page.getByRole('form', { name: 'Notification preferences' });
    const email = form.getByRole('checkbox', { name: 'Assigned to me: Email' });
    await expect(email.isChecked()).resolves.toBe(false);
    await email.check();
    await form.getByRole('checkbox', { name: "New ticket in my team's queue: Panel" }).uncheck();
    await form.getByRole('button', { name: 'Save preferences' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const stored = await db.admin.query<{ event: string; channel: string; enabled: boolean }>(
      'select event, channel, enabled from notification_prefs where user_id = $1 and enabled <> (channel = $2)',
      [adminId, 'panel'],
    );
    expect(stored.rows).toEqual(
      expect.arrayContaining([
        { event: 'assigned', channel: 'email', enabled: true },
        { event: 'new_in_queue', channel: 'panel', enabled: false },
      ]),
    );
    // An invalid zone is refused in words next to the form.
    await form.getByLabel('Time zone').fill('Nowhere/Land');
    await form.getByRole('button', { name: 'Save preferences' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(/time zone/i);
    // The refusal itself is the only thing the browser logged.
    expect(errors).toEqual([expect.stringContaining('422')]);
  });
});

describe('push and digest preferences', () => {
  it('offer the email digest at an hour, and explain a refused notification permission in words', async () => {
    const list = page.getByRole('region', { name: 'Notifications' });
    if (!(await list.isVisible())) await page.getByRole('button', { name: /^Notifications/ }).click();
    const form = page.getByRole('form', { name: 'Notification preferences' });
    if (!(await form.isVisible())) await list.getByRole('button', { name: 'Preferences' }).click();
    await form.getByRole('checkbox', { name: /One email a day/ }).check();
    await form.getByLabel(/Sent at/).selectOption('7');
    await form.getByRole('checkbox', { name: 'Assigned to me: Push' }).uncheck();
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await form.getByRole('button', { name: 'Save preferences' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const s = await db.admin.query(
      'select email_digest, digest_hour from notification_settings where user_id = $1 and org_id = $2',
      [adminId, orgId],
    );
    expect(s.rows).toEqual([{ email_digest: true, digest_hour: 7 }]);
    const p = await db.admin.query(
      `select enabled from notification_prefs where user_id = $1 and event = 'assigned' and channel = 'push'`,
      [adminId],
    );
    expect(p.rows).toEqual([{ enabled: false }]);
    // The browser refuses notifications for the site: the button says why instead of failing.
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Browser.setPermission', {
      permission: { name: 'notifications' },
      setting: 'denied',
      origin: rig.url,
    });
    await form.getByRole('button', { name: 'Enable push on this device' }).click();
    await expect(
      form
        .getByRole('status')
        .filter({ hasText: /blocking notifications/ })
        .textContent(),
    ).resolves.toMatch(/Allow notifications for this site in the browser’s site settings/);
    expect(
      await db.admin.query('select 1 from push_subscriptions where user_id = $1', [adminId]),
    ).toMatchObject({
      rowCount: 0,
    });
  });
});

describe('working hours', () => {
  it('are set under the bell’s preferences, one line of shifts per day, and a bad line is named', async () => {
    const list = page.getByRole('region', { name: 'Notifications' });
    if (!(await list.isVisible())) await page.getByRole('button', { name: /^Notifications/ }).click();
    const form = page.getByRole('form', { name: 'Working hours' });
    if (!(await form.isVisible())) await list.getByRole('button', { name: 'Preferences' }).click();
    await form.getByRole('checkbox', { name: 'Always' }).uncheck();
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await form.getByLabel('Monday').fill('09:00-12:00, 13:00-17:00');
    await form.getByLabel('Saturday').fill('nine to five');
    await form.getByRole('button', { name: 'Save working hours' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(/Saturday/);
    await form.getByLabel('Saturday').fill('');
    await form.getByRole('button', { name: 'Save working hours' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const r = await db.admin.query(
      'select working_hours from memberships where user_id = $1 and org_id = $2',
      [adminId, orgId],
    );
    expect(r.rows[0].working_hours).toEqual({
      timeZone: 'Europe/Berlin',
      week: {
        mon: [
          [540, 720],
          [780, 1020],
        ],
      },
    });
  });
});
