import { readFile } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportFromGame } from '../../db/player-reports.js';
import { startSession } from '../../db/player-sessions.js';
import { demoUserId } from '../../db/seed-users.js';
import { withTenant } from '../../db/tenant.js';
import { reply } from '../../db/tickets.js';
import { foldCaughtUp } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { collectErrors, type PanelRig, seriousViolations, shot, startPanelRig } from './support.js';

/**
 * The analytics dashboards in real Chromium over the demo workspace, folded into the rollups:
 * what the page shows is what the API answers, the CSV links download the API's CSV, the filters
 * and comparison reach the API, and only members holding analytics.read are offered the page.
 */
const db = useTestDb();
// The panel's own module (plain JS, outside the type-checked folders): the same conversion the
// drill-down links use.
const drillModule = '../../panel/analytics-drill.js';
const { wallToInstant } = (await import(drillModule)) as {
  wallToInstant: (wallMs: number, tz: string) => string;
};
let rig: PanelRig;
let orgId: string;
const contexts: BrowserContext[] = [];
let admin: Page;
/** A second admin page, signed in once: each test that needs the dashboards as first opened loads them afresh here. */
let fresh: Page;
let errors: string[];

async function signedIn(role: string, width = 1280): Promise<Page> {
  const ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width, height: 900 } });
  ctx.setDefaultTimeout(10_000);
  contexts.push(ctx);
  const page = await ctx.newPage();
  await page.goto(`/auth/demo?as=${role}`);
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
  return page;
}

/** The API's JSON for `path`, asked with the page's own session. */
async function apiJson(page: Page, path: string) {
  const res = await page.request.get(`/v1/orgs/${orgId}/analytics/${path}`);
  expect(res.status(), await res.text()).toBe(200);
  return res.json();
}

/** The value shown for a total of a dashboard (the current period's). */
const total = (page: Page, dashboard: string, label: string) =>
  page
    .locator(`[data-dashboard="${dashboard}"] [data-total="${label}"] dd > .value`)
    .textContent()
    .then((t) => t?.trim());

const percent = (r: number | null) => (r === null ? '–' : `${Math.round(r * 1000) / 10}%`);

/** The dashboards loaded afresh (no filter chosen) in the second admin page. */
async function freshDashboards(): Promise<Page> {
  await fresh.goto(`/o/${orgId}/analytics`);
  return fresh;
}

/** Waits for the dashboards to show the answer to the current URL's choice. */
async function settled(page: Page) {
  await page.locator('main.analytics[aria-busy="false"] [data-dashboard="heatmap"]').waitFor();
}

beforeAll(async () => {
  rig = await startPanelRig(db.app);
  const adminId = (await demoUserId(db.app, 'admin')) as string;
  orgId = (
    await db.admin.query<{ id: string }>('select org_id as id from memberships where user_id = $1', [adminId])
  ).rows[0]?.id as string;
  // What the demo game's SDK sends besides the seed's sessions: more sessions (one uploaded two
  // days late) and reports.
  const gameId = (
    await db.admin.query<{ id: string }>(
      'select id from games where org_id = $1 order by created_at limit 1',
      [orgId],
    )
  ).rows[0]?.id as string;
  await withTenant(db.app, orgId, async (tx) => {
    const players = ['ana', 'ben', 'cai', 'dee'].map((id) => ({ id: `panel-${id}`, name: id }));
    for (const [i, player] of players.entries())
      await startSession(tx, gameId, { player, platform: i % 2 ? 'pc' : 'switch', build: '2.0' });
    const late = await startSession(tx, gameId, {
      player: players[0] as { id: string; name: string },
      platform: 'pc',
    });
    await tx.query(
      `update player_sessions set started_at = started_at - interval '2 days' where id = $1::uuid`,
      [late.id],
    );
    for (const reported of players.slice(1, 3))
      await reportFromGame(tx, gameId, {
        reporter: players[0] as { id: string; name: string },
        reported,
        reason: 'cheating',
      });
  });
  // Players writing in two demo tickets: scored messages for the sentiment chart, one of them
  // negative, one positive, one neutral.
  const asked = await db.admin.query<{ id: string; requester: string }>(
    `select id, requester_id as requester from tickets
      where org_id = $1 and requester_id is not null and status <> 'closed' order by number limit 2`,
    [orgId],
  );
  const [first, second] = asked.rows;
  if (!first || !second) throw new Error('the demo workspace has no two open tickets with a requester');
  await withTenant(db.app, orgId, async (tx) => {
    const say = (t: { id: string; requester: string }, body: string) =>
      reply(tx, { ticketId: t.id, body, origin: 'discord' }, { type: 'player', id: t.requester });
    await say(first, 'This is broken and unfair');
    await say(first, 'Thanks, that fixed it, great support');
    await say(second, 'I use the launcher');
  });
  // The workers' fold is off in this rig: fold the demo workspace once, as the 2 s job would
  // (tickets, the player activity of sessions and reports, the sentiment of player messages).
  await foldCaughtUp(db.app, orgId);
  admin = await signedIn('admin');
  errors = collectErrors(admin);
  fresh = await signedIn('admin');
}, 60_000);
afterAll(async () => {
  for (const c of contexts) await c.close();
  await rig?.close();
});

describe('analytics dashboards', () => {
  it('opens from the header and shows the numbers the API answers', async () => {
    await admin.getByRole('link', { name: 'Analytics' }).click();
    await admin.getByRole('heading', { level: 1, name: 'Analytics' }).waitFor();
    await settled(admin);

    const volume = await apiJson(admin, 'volume');
    const v = volume.series[0].total;
    expect(v.opened, 'the demo workspace has tickets in the last 30 days').toBeGreaterThan(0);
    expect(await total(admin, 'volume', 'Opened')).toBe(String(v.opened));
    expect(await total(admin, 'volume', 'Solved')).toBe(String(v.solved));
    expect(await total(admin, 'volume', 'Backlog at the end')).toBe(String(v.backlog));
    const every = { hour: 'hourly', day: 'daily', week: 'weekly' }[volume.bucket as string];
    expect(await admin.locator('main p.muted[role="status"]').first().textContent()).toContain(
      `, ${every}, `,
    );

    const sla = (await apiJson(admin, 'sla')).series[0].total;
    expect(await total(admin, 'sla', 'Attainment')).toBe(percent(sla.attainment));
    expect(await total(admin, 'sla', 'Breached')).toBe(String(sla.breached));
    const csat = (await apiJson(admin, 'csat')).series[0].total;
    expect(await total(admin, 'csat', 'Ratings')).toBe(String(csat.rated));
    expect(await total(admin, 'csat', 'Ratings 1 to 5')).toBe(csat.distribution.join(' / '));
    const reopens = (await apiJson(admin, 'reopens')).series[0].total;
    expect(await total(admin, 'reopens', 'Reopened')).toBe(String(reopens.reopened));

    // The chart is drawn (uPlot's canvas) and described in words for screen readers.
    const chart = admin.locator('[data-dashboard="volume"] [role="img"]');
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    expect(await chart.getAttribute('aria-label')).toContain(`${v.opened} opened`);

    // The table alternative holds every bucket, with the API's values.
    const table = admin.locator('[data-dashboard="volume"] details');
    await table.locator('summary').click();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(volume.series[0].points.length);
    const last = volume.series[0].points.at(-1);
    expect(await rows.last().locator('th').textContent()).toBe(last.bucket);
    expect(await rows.last().locator('td').first().textContent()).toBe(String(last.opened));

    // Workload: one row per assignee, open counts as the API has them.
    const work = await apiJson(admin, 'workload');
    const wrows = admin.locator('[data-dashboard="workload"] tbody tr');
    expect(await wrows.count()).toBe(work.assignees.length);
    for (const a of work.assignees) {
      const row = admin.locator(
        `[data-dashboard="workload"] tr[data-assignee="${a.assigneeId ?? 'unassigned'}"]`,
      );
      expect(await row.locator('td').first().textContent()).toBe(String(a.open));
    }
    // Heatmap: the same 7 × 24 counts.
    const heat = await apiJson(admin, 'heatmap');
    const cells = await admin.locator('[data-dashboard="heatmap"] tbody td').allTextContents();
    expect(cells.map(Number)).toEqual(heat.cells.flat());

    await shot(admin, 'analytics-1280px');
    expect(await seriousViolations(admin)).toEqual([]);
  });

  it('shows first response, next response and resolution, in calendar time or business hours', async () => {
    const page = await freshDashboards();
    await settled(page);
    const duration = (page: Page, label: string) => total(page, 'times', label);
    const calendar = (await apiJson(page, 'response-times')).series[0].total;
    expect(calendar.nextResponse.count, 'the demo conversations have answered follow-ups').toBeGreaterThan(0);
    const shown = {
      first: await duration(page, 'First response, median'),
      next: await duration(page, 'Next response, median'),
      nextP90: await duration(page, 'Next response, p90'),
    };
    expect(shown.next).not.toBe('–');
    expect(shown.nextP90).not.toBe('–');
    // Six lines: a median and a p90 for each of the three times.
    const chart = page.locator('[data-dashboard="times"] [role="img"]');
    expect(await chart.getAttribute('aria-label')).toContain('next response median');

    await page.getByLabel('Durations in').selectOption('business');
    await page.waitForURL(/time=business/);
    await settled(page);
    await page.getByRole('heading', { name: 'Response and resolution times, business hours' }).waitFor();
    const business = await apiJson(page, 'response-times?time=business');
    expect(business.time).toBe('business');
    expect(business.series[0].total.nextResponse.count).toBe(calendar.nextResponse.count);
    // The demo workspace counts SLA time in office hours: nights and weekends drop out, so a
    // figure shown changes (and the table is the API's).
    const table = page.locator('[data-dashboard="times"] details');
    await table.locator('summary').click();
    const header = await table.locator('thead th').allTextContents();
    const col = header.indexOf('Next response, median');
    expect(col).toBeGreaterThan(0);
    const again = {
      first: await duration(page, 'First response, median'),
      next: await duration(page, 'Next response, median'),
    };
    expect(again).not.toEqual({ first: shown.first, next: shown.next });
    const csv = await page.request.get(`/v1/orgs/${orgId}/analytics/response-times?time=business&format=csv`);
    expect((await csv.text()).split('\r\n')[0]).toContain('nextResponse.p90');
  });

  it('shows player activity from the sessions and reports the game sent', async () => {
    const page = await freshDashboards();
    await settled(page);
    const players = await apiJson(page, 'player-activity');
    const t = players.series[0].total;
    expect(t.sessions, 'the seed and the test sent sessions').toBeGreaterThanOrEqual(5);
    expect(t.reports).toBeGreaterThanOrEqual(2);
    expect(await total(page, 'players', 'Active players')).toBe(String(t.activePlayers));
    expect(await total(page, 'players', 'Sessions')).toBe(String(t.sessions));
    expect(await total(page, 'players', 'Reports')).toBe(String(t.reports));
    expect(await total(page, 'players', 'Tickets per 1,000 players')).toBe(
      t.ticketsPer1000Players === null ? '–' : String(t.ticketsPer1000Players),
    );
    expect(await page.locator('[data-dashboard="players"] [data-note]').count()).toBe(0);
    const chart = page.locator('[data-dashboard="players"] [role="img"]');
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    expect(await chart.getAttribute('aria-label')).toContain(`${t.activePlayers} players active`);
    const table = page.locator('[data-dashboard="players"] details');
    await table.locator('summary').click();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(players.series[0].points.length);
    const late = players.series[0].points.at(-3);
    expect(late.sessions, 'the session uploaded late is in its own day').toBeGreaterThanOrEqual(1);
    expect(
      await rows
        .nth(players.series[0].points.length - 3)
        .locator('td')
        .nth(1)
        .textContent(),
    ).toBe(String(late.sessions));
  });

  it('shows player sentiment: the average score and the negative share, with its table', async () => {
    const page = await freshDashboards();
    await settled(page);
    const sentiment = await apiJson(page, 'sentiment');
    const t = sentiment.series[0].total;
    expect(t.messages, 'the test wrote three scored messages').toBeGreaterThanOrEqual(3);
    expect(t.negative).toBeGreaterThanOrEqual(1);
    expect(t.positive).toBeGreaterThanOrEqual(1);
    const dash = page.locator('[data-dashboard="sentiment"]');
    await dash.getByRole('heading', { level: 2, name: 'Player sentiment' }).waitFor();
    expect(await total(page, 'sentiment', 'Scored messages')).toBe(String(t.messages));
    const avg = Math.round(t.averageScore * 100) / 100;
    expect(await total(page, 'sentiment', 'Average score')).toBe(`${avg > 0 ? '+' : ''}${avg}`);
    expect(await total(page, 'sentiment', 'Negative share')).toBe(percent(t.negativeShare));
    expect(await total(page, 'sentiment', 'Negative')).toBe(String(t.negative));
    expect(await total(page, 'sentiment', 'Positive')).toBe(String(t.positive));
    expect(await dash.locator('[data-note]').count()).toBe(0);
    // uPlot's canvas, described in words; both lines named in the key.
    const chart = dash.locator('[role="img"]');
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    expect(await chart.getAttribute('aria-label')).toContain(`${t.messages} scored player messages`);
    expect(await dash.locator('.chart-key li').allTextContents()).toEqual([
      'Average score',
      'Negative share',
    ]);
    const table = dash.locator('details');
    await table.locator('summary').click();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(sentiment.series[0].points.length);
    const today = sentiment.series[0].points.at(-1);
    expect(await rows.last().locator('td').nth(0).textContent()).toBe(String(today.messages));
    expect(await rows.last().locator('td').nth(2).textContent()).toBe(percent(today.negativeShare));
    expect(await seriousViolations(page)).toEqual([]);

    // A team chosen: the sentiment asks for that team's messages; a category too: neither applies,
    // and the section says so.
    const team = (await page.getByLabel('Team').locator('option').nth(1).getAttribute('value')) as string;
    await page.getByLabel('Team').selectOption(team);
    await page.waitForURL(/team=/);
    await settled(page);
    const mine = await apiJson(page, `sentiment?team=${team}`);
    await expect
      .poll(() => total(page, 'sentiment', 'Scored messages'))
      .toBe(String(mine.series[0].total.messages));
    expect(mine.series[0].total.messages).toBeLessThan(t.messages);
    const category = (await page
      .getByLabel('Category')
      .locator('option')
      .nth(1)
      .getAttribute('value')) as string;
    await page.getByLabel('Category').selectOption(category);
    await page.waitForURL(/category=/);
    await settled(page);
    await expect.poll(() => total(page, 'sentiment', 'Scored messages')).toBe(String(t.messages));
    expect(await dash.locator('[data-note]').textContent()).toContain('not both');
  });

  it('downloads each dashboard as the API CSV', async () => {
    for (const [dashboard, path] of [
      ['volume', 'volume'],
      ['workload', 'workload'],
      ['players', 'player-activity'],
      ['sentiment', 'sentiment'],
    ] as const) {
      const link = admin.locator(`[data-dashboard="${dashboard}"] a[download]`);
      const [download] = await Promise.all([admin.waitForEvent('download'), link.click()]);
      const body = await readFile((await download.path()) as string, 'utf8');
      const expected = await admin.request.get(`/v1/orgs/${orgId}/analytics/${path}?format=csv`);
      expect(body).toBe(await expected.text());
      expect(body.split('\r\n')[0]).toContain(
        { volume: 'opened', workload: 'assigneeId', players: 'activePlayers', sentiment: 'averageScore' }[
          dashboard
        ],
      );
      expect(download.suggestedFilename()).toMatch(new RegExp(`^${path}-.*\\.csv$`));
    }
    // The page stayed where it was (the download did not route the panel away).
    expect(new URL(admin.url()).pathname).toBe(`/o/${orgId}/analytics`);
  });

  it('filters by origin, compares with the previous period and keeps the choice in the URL', async () => {
    await admin.getByLabel('Origin').selectOption('discord');
    await admin.waitForURL(/source=discord/);
    await settled(admin);
    const discord = (await apiJson(admin, 'volume?source=discord')).series[0].total;
    // The URL changes before the page marks itself busy, so the old figures may still show.
    await expect.poll(() => total(admin, 'volume', 'Opened')).toBe(String(discord.opened));

    // Keyboard: the comparison is a checkbox reached and ticked from the keyboard.
    await admin.getByLabel('Compare with the previous period').focus();
    await admin.keyboard.press('Space');
    await admin.waitForURL(/compare=true/);
    await settled(admin);
    const compared = await apiJson(admin, 'volume?source=discord&compare=true');
    expect(compared.previous).not.toBeNull();
    const prev = admin.locator('[data-dashboard="volume"] [data-total="Opened"] .previous .value');
    expect(await prev.textContent()).toBe(String(compared.previous.series[0].total.opened));
    // Player activity follows the range and the comparison, not the origin, and says so.
    const players = await apiJson(admin, 'player-activity?compare=true');
    expect(await total(admin, 'players', 'Active players')).toBe(
      String(players.series[0].total.activePlayers),
    );
    const prevPlayers = admin.locator(
      '[data-dashboard="players"] [data-total="Active players"] .previous .value',
    );
    expect(await prevPlayers.textContent()).toBe(String(players.previous.series[0].total.activePlayers));
    expect(await admin.locator('[data-dashboard="players"] [data-note]').textContent()).toContain(
      'not filtered',
    );
    // So does the sentiment trend (messages are not filtered by origin here).
    const mood = await apiJson(admin, 'sentiment?compare=true');
    expect(await total(admin, 'sentiment', 'Scored messages')).toBe(String(mood.series[0].total.messages));
    expect(await admin.locator('[data-dashboard="sentiment"] [data-note]').textContent()).toContain('origin');

    // A reload keeps the choice (it lives in the query string).
    await admin.reload();
    await settled(admin);
    expect(await admin.getByLabel('Origin').inputValue()).toBe('discord');
    expect(await admin.getByLabel('Compare with the previous period').isChecked()).toBe(true);

    // The API's refusal (hourly buckets past 31 days) is shown in words, not a blank page.
    await admin.getByRole('button', { name: 'Last 90 days' }).click();
    await settled(admin);
    await admin.getByLabel('Bucket').selectOption('hour');
    await expect
      .poll(() => admin.getByRole('alert').textContent())
      .toContain('at most 31 days with hour buckets');
    expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
  });

  it('drills down from a day of the volume chart to the tickets opened then, in the inbox', async () => {
    const page = await freshDashboards();
    await settled(page);
    const volume = await apiJson(page, 'volume');
    const points: Array<{ bucket: string; opened: number }> = volume.series[0].points;
    const busiest = points.reduce((a, b) => (b.opened > a.opened ? b : a));
    expect(busiest.opened).toBeGreaterThan(0);

    // The keyboard way: the chart's table links each day to its tickets.
    const section = page.locator('[data-dashboard="volume"]');
    await section.getByText('Show the numbers as a table').click();
    await section.getByRole('link', { name: `${busiest.bucket}: the tickets opened` }).click();
    await page.waitForURL(/\/o\/[0-9a-f-]{36}\?.*createdFrom=/);
    const url = new URL(page.url());
    expect(url.searchParams.get('status')).toBe('all');
    // The day's bounds are its midnights in the org's time zone.
    const midnight = (day: string) => wallToInstant(Date.parse(`${day}T00:00:00Z`), volume.timeZone);
    expect(url.searchParams.get('createdFrom')).toBe(midnight(busiest.bucket));
    const next = new Date(Date.parse(`${busiest.bucket}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect(url.searchParams.get('createdTo')).toBe(midnight(next));
    const rows = page.locator('ol[aria-label="Tickets"] > li:not(.spacer)');
    await expect.poll(() => rows.count()).toBe(busiest.opened);
    const range = `createdFrom=${url.searchParams.get('createdFrom')}&createdTo=${url.searchParams.get('createdTo')}`;
    const listed = await page.request.get(`/v1/orgs/${orgId}/tickets?${range}&limit=100`);
    expect(listed.status()).toBe(200);
    expect((await listed.json()).tickets.length).toBe(busiest.opened);

    // The pointer way: a click on the chart opens the bucket under the cursor.
    await page.goBack();
    await settled(page);
    await section.locator('.u-over').click();
    await page.waitForURL(/createdFrom=/);
    expect(new URL(page.url()).searchParams.get('createdTo')).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("turns a bucket's wall-clock bounds into instants in the org's zone, across a clock change", () => {
    const wall = (s: string) => Date.parse(`${s}Z`);
    expect(wallToInstant(wall('2026-07-01T00:00:00'), 'Europe/Berlin')).toBe('2026-06-30T22:00:00.000Z');
    expect(wallToInstant(wall('2026-01-15T00:00:00'), 'Europe/Berlin')).toBe('2026-01-14T23:00:00.000Z');
    // Berlin moves to summer time at 02:00 on 29 March 2026: 03:00 is already UTC+2.
    expect(wallToInstant(wall('2026-03-29T03:00:00'), 'Europe/Berlin')).toBe('2026-03-29T01:00:00.000Z');
    expect(wallToInstant(wall('2026-11-30T14:00:00'), 'UTC')).toBe('2026-11-30T14:00:00.000Z');
  });

  it('keeps the dashboards and uPlot off the first load: neither is preloaded', async () => {
    const page = await (await fetch(`${rig.url}/`)).text();
    const preloads = [...page.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    expect(preloads.length).toBeGreaterThan(3);
    expect(preloads.filter((u) => /analytics|uplot/i.test(u))).toEqual([]);
    // ...while the import map pins it for the page that loads it.
    expect(page).toMatch(/"uplot":"\/panel\/vendor\/uplot@[0-9.]+\/dist\/uPlot\.esm\.js"/);
  });

  it('is not offered to a member without analytics.read, and says why when opened', async () => {
    const agent = await signedIn('agent');
    await agent.getByRole('link', { name: 'Settings' }).waitFor();
    await agent.waitForLoadState('networkidle');
    expect(await agent.getByRole('link', { name: 'Analytics' }).count()).toBe(0);
    await agent.goto(`/o/${orgId}/analytics`);
    await expect
      .poll(() => agent.getByRole('alert').textContent())
      .toContain('does not include the analytics permission');
    // The viewer role holds it: the link is there.
    const viewer = await signedIn('viewer');
    await viewer.getByRole('link', { name: 'Analytics' }).waitFor();
  });

  it('fits a phone without sideways scrolling', async () => {
    await fresh.setViewportSize({ width: 375, height: 900 });
    const phone = await freshDashboards();
    await settled(phone);
    expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(phone, 'analytics-375px');
  });
});
