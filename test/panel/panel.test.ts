import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertPlayer } from '../../db/players.js';
import { demoUserId } from '../../db/seed-users.js';
import { withTenant } from '../../db/tenant.js';
import { reply } from '../../db/tickets.js';
import type { Caller } from '../api/support.js';
import { useTestDb } from '../support/db.js';
import {
  COUNT_FETCHES,
  collectErrors,
  fetchesAnswered,
  type PanelRig,
  seriousViolations,
  shot,
  startPanelRig,
} from './support.js';

/**
 * The panel in real headless Chromium against a real listening API with the demo workspace: the
 * moderator's loop from sign-in to reply, live updates, keyboard, phone width, accessibility.
 */
const db = useTestDb();
let rig: PanelRig;
let ctx: BrowserContext;
let page: Page;
let errors: string[];
let orgId: string;
let admin: Caller;

beforeAll(async () => {
  rig = await startPanelRig(db.app);
  ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width: 1280, height: 900 } });
  // Well under the test timeout, so a wait that fails names its locator instead of timing out.
  ctx.setDefaultTimeout(8000);
  page = await ctx.newPage();
  errors = collectErrors(page);
  const adminId = (await demoUserId(db.app, 'admin')) as string;
  admin = await rig.api.sessionFor(adminId);
  const org = await db.admin.query<{ id: string }>(
    'select org_id as id from memberships where user_id = $1',
    [adminId],
  );
  orgId = org.rows[0]?.id as string;
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await rig?.close();
});

const ticketRows = () => page.locator('ol.ticket-list > li');

describe('serving', () => {
  it('serves the page with a CSP that allows only its own scripts and the import map by hash', async () => {
    const res = await fetch(`${rig.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    expect(html).toContain('"preact":"/panel/vendor/preact@');
  });

  it('serves JavaScript compressed with a Content-Length, an ETag and a year of cache, and 304 on a match', async () => {
    const html = await (await fetch(`${rig.url}/`)).text();
    const app = html.match(/src="(\/panel\/[0-9a-f]+\/app\.js)"/)?.[1] as string;
    const vendor = html.match(/"preact":"([^"]+)"/)?.[1] as string;
    for (const path of [app, vendor]) {
      const res = await fetch(rig.url + path, { headers: { 'accept-encoding': 'br, gzip' } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(res.headers.get('content-encoding')).toBe('br');
      expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
      expect(res.headers.get('cache-control')).toContain('immutable');
      const again = await fetch(rig.url + path, {
        headers: { 'accept-encoding': 'br', 'if-none-match': res.headers.get('etag') as string },
      });
      expect(again.status).toBe(304);
    }
    const gz = await fetch(rig.url + app, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('etag')).not.toBe(
      (await fetch(rig.url + app, { headers: { 'accept-encoding': 'br' } })).headers.get('etag'),
    );
  });

  it('serves the page on client routes, and the JSON 404 on unknown API paths and files', async () => {
    const client = await fetch(`${rig.url}/o/${orgId}/t/00000000-0000-4000-8000-000000000000`);
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/^text\/html/);
    for (const path of ['/v1/nothing-here', '/auth/nothing', '/panel/0000/app.js', '/favicon.ico']) {
      const res = await fetch(rig.url + path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });
});

describe('first load', () => {
  it('lists the whole static module graph as modulepreload, and leaves the settings modules for later', async () => {
    const html = await (await fetch(`${rig.url}/`)).text();
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    const names = preloads.map((u) => u.split('/').pop());
    // app.js first; modules two imports deep (inbox.js -> labels.js) and the libraries included.
    expect(names[0]).toBe('app.js');
    for (const name of [
      'inbox.js',
      'ticket.js',
      'labels.js',
      'seen.js',
      'preact.mjs',
      'hooks.mjs',
      'htm.mjs',
    ])
      expect(names, name).toContain(name);
    expect(names.filter((n) => n?.startsWith('settings'))).toEqual([]);
    expect(new Set(preloads).size).toBe(preloads.length);
    for (const url of preloads) expect((await fetch(rig.url + url)).status, url).toBe(200);
    expect(html).toContain('<link rel="preload" href="/auth/session" as="fetch" crossorigin="anonymous" />');
  });

  it('asks for the session and the first page of tickets once each: the early requests are the ones used', async () => {
    const cold = await rig.browser.newContext({ baseURL: rig.url });
    try {
      await cold.addInitScript(COUNT_FETCHES);
      await cold.addCookies([{ name: 'gm_session', value: admin.cookie as string, url: rig.url }]);
      const p = await cold.newPage();
      const warnings: string[] = [];
      p.on('console', (m) => {
        if (m.type() === 'warning' || m.type() === 'error') warnings.push(m.text());
      });
      await p.goto(`/o/${orgId}`);
      await p.locator('ol.ticket-list > li').first().waitFor();
      await fetchesAnswered(p);
      const seen = (await p.evaluate(`performance.getEntriesByType('resource').map((r) => ({
        name: r.name, start: r.startTime, end: r.responseEnd }))`)) as {
        name: string;
        start: number;
        end: number;
      }[];
      const session = seen.filter((r) => r.name.endsWith('/auth/session'));
      const lists = seen.filter((r) => /\/tickets\?/.test(r.name));
      expect(session).toHaveLength(1);
      expect(lists).toHaveLength(1);
      expect(warnings.filter((w) => /preload/i.test(w))).toEqual([]);
    } finally {
      await cold.close();
    }
  });
});

describe('the moderator loop in Chromium', () => {
  it('shows the sign-in page with the demo buttons and names the missing Discord settings', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in to GameMod' }).waitFor();
    expect(await page.getByText('DISCORD_APPLICATION_ID').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Sign in as the demo admin' }).count()).toBe(1);
    await shot(page, 'sign-in');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('demo sign-in lands in the inbox, signed in, with the demo tickets', async () => {
    await page.getByRole('link', { name: 'Sign in as the demo admin' }).click();
    await page.waitForURL(new RegExp(`/o/${orgId}$`));
    await page.locator('header .who', { hasText: 'Sam Admin' }).waitFor();
    await ticketRows().first().waitFor();
    expect(await ticketRows().count()).toBeGreaterThan(3);
    await shot(page, 'inbox');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('moves with j/k and opens with Enter; / focuses the search; ? lists the keys', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    expect(await page.locator('ol.ticket-list > li.selected').count()).toBe(1);
    const second = await ticketRows().nth(1).getAttribute('class');
    expect(second).toContain('selected');
    await page.keyboard.press('?');
    await page.getByRole('heading', { name: 'Keyboard shortcuts' }).waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('/');
    expect(await page.evaluate('document.activeElement?.id')).toBe('inbox-search');
    await page.keyboard.press('Escape');
    await page.locator('ol.ticket-list a').nth(1).focus();
    const href = (await ticketRows().nth(1).locator('a').getAttribute('href')) as string;
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === href);
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
  });

  it('filters by status through the URL, and searches', async () => {
    await page.goto(`/o/${orgId}?status=closed`);
    await ticketRows().first().waitFor();
    const badges = await page.locator('ol.ticket-list .status-closed').count();
    expect(badges).toBe(await ticketRows().count());
    await page.goto(`/o/${orgId}?status=all&q=zzzz-no-such-words`);
    await page.getByText('No tickets match these filters.').waitFor();
  });

  it('sends a reply: it is in the database and in the conversation; a note shows as a note', async () => {
    await page.goto(`/o/${orgId}`);
    await ticketRows().first().waitFor();
    const href = (await ticketRows().first().locator('a').getAttribute('href')) as string;
    const ticketId = href.split('/').pop() as string;
    await page.goto(href);
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
    const reply = `Thanks, we are on it ${Date.now()}`;
    await page.getByLabel('Reply to the player').fill(reply);
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.locator('li.msg', { hasText: reply }).waitFor();
    const stored = await db.admin.query(
      'select origin, author_type from messages where ticket_id = $1 and body = $2',
      [ticketId, reply],
    );
    expect(stored.rows).toEqual([{ origin: 'panel', author_type: 'user' }]);

    const note = `Checked the logs ${Date.now()}`;
    // Focus is on the send button, not in a field: the n key switches the composer to a note.
    await page.keyboard.press('n');
    await page.getByLabel('Internal note for staff').fill(note);
    await page.getByRole('button', { name: 'Add note' }).click();
    const shown = page.locator('li.note', { hasText: note });
    await shown.waitFor();
    expect(await shown.getByText('Internal note').count()).toBe(1);
    expect(await page.locator('li.msg', { hasText: note }).count()).toBe(0);
    const notes = await db.admin.query('select 1 from ticket_notes where ticket_id = $1 and body = $2', [
      ticketId,
      note,
    ]);
    expect(notes.rowCount).toBe(1);
    const leaked = await db.admin.query('select 1 from messages where body = $1', [note]);
    expect(leaked.rowCount).toBe(0);
    await shot(page, 'ticket');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it("labels a participant's message as a participant's, not the player's", async () => {
    const ticketId = (
      await db.admin.query<{ id: string }>(
        `select id from tickets where org_id = $1 and origin = 'discord' and status = 'open' order by number limit 1`,
        [orgId],
      )
    ).rows[0]?.id as string;
    const said = `I was in that match too ${Date.now()}`;
    // Someone staff added to the ticket's Discord thread, as the bot records their message.
    await withTenant(db.app, orgId, async (tx) => {
      const friend = await upsertPlayer(tx, { discordUserId: '555555555555555555', displayName: 'Friend' });
      await reply(
        tx,
        { ticketId, body: said, origin: 'discord', participant: true },
        { type: 'player', id: friend.id },
      );
    });
    await page.goto(`/o/${orgId}/t/${ticketId}`);
    const shown = page.locator('li.msg', { hasText: said });
    await shown.waitFor();
    const who = async (l: typeof shown) =>
      (await l.locator('.who').textContent())?.replace(/\s+/g, ' ').trim();
    expect(await who(shown)).toMatch(/^Participant · public · via Discord/);
    expect(await who(page.locator('li.msg.from-player').first())).toMatch(/^Player · public/);
  });

  it('keeps a draft across a reload, and shows a refused action next to its control, in words', async () => {
    const draft = 'half-written answer';
    await page.getByRole('radio', { name: /Reply to player/ }).check();
    await page.getByLabel('Reply to the player').fill(draft);
    await page.reload();
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
    expect(await page.getByLabel('Reply to the player').inputValue()).toBe(draft);

    await page.getByLabel('Status').selectOption('solved');
    await page.locator('.badge.status-solved').first().waitFor();
    // solved → pending is not an allowed transition: the API says so, next to the status select.
    await page.getByLabel('Status').selectOption('pending');
    const error = page.locator('#err-status');
    await error.waitFor();
    expect((await error.textContent())?.length).toBeGreaterThan(10);
    expect(await page.locator('#err-compose').count()).toBe(0);
  });

  it('shows a ticket created through the API in the open inbox without a reload', async () => {
    await page.goto(`/o/${orgId}?sort=created`);
    await ticketRows().first().waitFor();
    await page.evaluate('window.marker = 1');
    const subject = `Live ticket ${Date.now()}`;
    const res = await rig.api.call(admin, {
      method: 'POST',
      url: `/v1/orgs/${orgId}/tickets`,
      payload: { subject, body: 'Arrived while the inbox was open' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const row = page.locator('ol.ticket-list > li', { hasText: subject });
    await row.waitFor({ timeout: 5000 });
    expect(await row.getByText('New').count()).toBe(1);
    // The same page: nothing reloaded.
    expect(await page.evaluate('window.marker')).toBe(1);
  });

  it('logged no console errors and no page errors on the way', () => {
    // Chromium logs every 4xx answer as a console error. Two are expected: the 401 of
    // GET /auth/session before signing in, and the 409 of the refused status change above.
    const expected = /^Failed to load resource: the server responded with a status of (401|409) /;
    expect(errors.filter((e) => !expected.test(e))).toEqual([]);
    expect(errors.length).toBeLessThanOrEqual(2);
  });
});

describe('phone width', () => {
  it('renders the inbox and a ticket at 375 px without horizontal scrolling', async () => {
    const phone = await rig.browser.newContext({ baseURL: rig.url, viewport: { width: 375, height: 800 } });
    try {
      const p = await phone.newPage();
      await p.goto('/auth/demo?as=moderator');
      await p.locator('ol.ticket-list > li').first().waitFor();
      expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await shot(p, 'inbox-phone');
      await p.locator('ol.ticket-list a').first().click();
      await p.getByRole('heading', { name: 'Conversation' }).waitFor();
      expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await shot(p, 'ticket-phone');
    } finally {
      await phone.close();
    }
  });
});
