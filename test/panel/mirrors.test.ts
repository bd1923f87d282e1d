import { createServer } from 'node:net';
import { ChannelType, PermissionFlagsBits } from 'discord.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { createRole } from '../../db/roles.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { startTestApi, type TestApi } from '../api/support.js';
import { backfillNow, type Harness, settle, startHarness } from '../bot/harness.js';
import { closeContextsSince, collectErrors, seriousViolations, sharedBrowser, shot } from './support.js';

/**
 * Discord channel mirroring from the panel: the real bot and workers against the fake Discord, a
 * real API and Chromium on one database. A channel mirrored from the Discord settings is copied by
 * the workers' backfill and the card says how many messages; a channel the bot cannot read shows
 * what it lacks, and "Try again" copies it once the bot may; the Conversations page shows the
 * copied messages read-only with their authors' names and files, a thread under its channel and a
 * removed mirror's conversation as no longer mirrored, marks them read, and "Create ticket" opens
 * one ticket per message.
 */
let h: Harness;
let api: TestApi;
let browser: Browser;
let before: Set<BrowserContext>;
let ctx: BrowserContext;
let page: Page;
let errors: string[];
let url: string;
let patchNotes: string;
let leads: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A text channel of the test server, written in before any mirror (only a backfill can copy it). */
function channelWith(name: string, contents: string[]): string {
  const c = h.fake.state.createChannel(h.guild.id, { name, type: ChannelType.GuildText });
  h.fake.dispatch(h.guild.id, 'CHANNEL_CREATE', h.fake.state.channelPayload(c));
  const author = h.fake.state.users.get(h.users.player);
  if (!author) throw new Error('seed');
  // A minute apart: messages written in the same millisecond have no order of their own here.
  const start = Date.now() - 60_000 * contents.length;
  for (const [i, content] of contents.entries())
    h.fake.state.addMessage(c, { author, content, timestamp: new Date(start + i * 60_000).toISOString() });
  return c.id;
}

const mirrorOf = async (discordChannelId: string) =>
  (
    await h.db.admin.query('select * from discord_mirrors where org_id = $1 and discord_channel_id = $2', [
      h.org.orgId,
      discordChannelId,
    ])
  ).rows[0];

const ticketCount = async () =>
  (
    await h.db.admin.query<{ n: number }>('select count(*)::int as n from tickets where org_id = $1', [
      h.org.orgId,
    ])
  ).rows[0]?.n ?? 0;

/** A 1×1 PNG: the file a player attaches in Discord. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** Requests a page makes to the members or players lists (names needing extra permissions). */
const nameLookups = (p: Page) => {
  const seen: string[] = [];
  p.on('request', (r) => {
    if (/\/v1\/orgs\/[^/]+\/(members|players)(\/|\?|$)/.test(new URL(r.url()).pathname)) seen.push(r.url());
  });
  return seen;
};

/** The mirror's entry in the server's card, by the channel name or id it shows. */
const entry = (text: string) => page.locator('.mirror-list > li', { hasText: text });

beforeAll(async () => {
  h = await startHarness({ workers: true });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  api = await startTestApi(h.db.app, { settings: { publicUrl: url, now: Date.now } });
  await api.app.listen({ host: '127.0.0.1', port });
  browser = await sharedBrowser();
  before = new Set(browser.contexts());
  ctx = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(10_000);
  // The mirrors card asks for a backfill's state every 100 ms here instead of every 2 s.
  await ctx.addInitScript('window.gmMirrorPollMs = 100');
  const owner = await api.sessionFor(h.org.ownerId);
  await ctx.addCookies([{ name: 'gm_session', value: owner.cookie as string, url }]);
  page = await ctx.newPage();
  errors = collectErrors(page);
  patchNotes = channelWith('patch-notes', [
    'The new map crashes when I open the inventory',
    'Same here, on the second level',
    'Thanks for the patch notes!',
  ]);
  leads = channelWith('leads', ['private plans']);
  const botRole = [...(h.fake.state.guilds.get(h.guild.id)?.roles.values() ?? [])].find((r) => r.managed)?.id;
  h.fake.updateChannel(leads, {
    permission_overwrites: [
      { id: botRole ?? '', type: 0, allow: '0', deny: String(PermissionFlagsBits.ReadMessageHistory) },
    ],
  });
}, 120_000);

afterAll(async () => {
  if (browser) await closeContextsSince(browser, before);
  await api?.close();
  await h?.close();
});

describe('Discord channel mirroring in the panel', () => {
  it('a channel mirrored from the Discord settings is copied by the backfill and says how many messages', async () => {
    await page.goto(`/o/${h.org.orgId}/settings/discord`);
    await page.getByRole('heading', { name: /Mirrored channels/ }).waitFor();
    await page.getByText('No channel of this server is mirrored.').waitFor();
    // A channel id that is not a snowflake: the API's 422 under the field, nothing stored.
    await page.getByLabel('Discord channel id', { exact: true }).fill('not-an-id');
    await page.getByRole('button', { name: 'Mirror channel' }).click();
    const fieldError = page.locator(`#err-mirror-discordChannelId-${h.guild.id}`);
    await fieldError.waitFor();
    expect(
      await page.getByLabel('Discord channel id', { exact: true }).getAttribute('aria-describedby'),
    ).toBe(`err-mirror-discordChannelId-${h.guild.id}`);
    expect(await mirrorOf('not-an-id')).toBeUndefined();

    await page.getByLabel('Discord channel id', { exact: true }).fill(patchNotes);
    await page.getByLabel(/Name in Conversations/).fill('patch-notes');
    await page.getByRole('button', { name: 'Mirror channel' }).click();
    await entry('#patch-notes').waitFor();
    expect(await entry('#patch-notes').locator('.mirror-state').textContent()).toMatch(/Copying/);
    // The workers hold the backfill back a few seconds (run now here); the card asks again until
    // it is done.
    await backfillNow(h, (await mirrorOf(patchNotes)).id);
    await entry('#patch-notes')
      .locator('.mirror-state', { hasText: 'Copied 3 messages' })
      .waitFor({ timeout: 40_000 });
    const row = await mirrorOf(patchNotes);
    expect(row).toMatchObject({ backfill_state: 'done', backfilled_count: 3 });
    // Copy again: offered once done, and nothing is copied twice.
    await entry('#patch-notes')
      .getByRole('button', { name: /^Copy again/ })
      .click();
    await entry('#patch-notes')
      .locator('.mirror-state', { hasText: 'No new message to copy' })
      .waitFor({ timeout: 40_000 });
    const n = await h.db.admin.query<{ n: number }>(
      'select count(*)::int as n from messages where channel_id = $1',
      [row.channel_id],
    );
    expect(n.rows[0]?.n).toBe(3);
    await shot(page, 'settings-discord-mirrors');
  }, 120_000);

  it('a channel the bot cannot read shows what it lacks; Try again copies it once the bot may', async () => {
    await page.getByLabel('Discord channel id', { exact: true }).fill(leads);
    await page.getByRole('button', { name: 'Mirror channel' }).click();
    await entry(leads).waitFor();
    await backfillNow(h, (await mirrorOf(leads)).id);
    await entry(leads)
      .locator('.mirror-state', { hasText: 'it needs View Channel and Read Message History' })
      .waitFor({ timeout: 40_000 });
    const text = await entry(leads).locator('.mirror-state').textContent();
    // Discord's channel mention is shown as words outside Discord.
    expect(text).toContain(`GameMod's bot cannot read channel ${leads}`);
    expect((await mirrorOf(leads)).backfill_state).toBe('refused');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'settings-discord-mirror-refused');

    h.fake.updateChannel(leads, { permission_overwrites: [] });
    await entry(leads)
      .getByRole('button', { name: /^Try again/ })
      .click();
    await entry(leads).locator('.mirror-state', { hasText: 'Copied 1 message' }).waitFor({ timeout: 40_000 });
    expect((await mirrorOf(leads)).backfilled_count).toBe(1);
  }, 120_000);

  it('Conversations shows the mirrored messages read-only, marks them read, and Create ticket opens one ticket', async () => {
    const channelId = (await mirrorOf(patchNotes)).channel_id as string;
    const lookups = nameLookups(page);
    await page.getByRole('link', { name: 'Conversations' }).click();
    await page.getByRole('heading', { name: 'Mirrored Discord channels' }).waitFor();
    const item = page.locator(`li[data-channel="${channelId}"] > a`);
    expect(await item.textContent()).toContain('#patch-notes');
    expect(await item.locator('.unread-badge').textContent()).toBe('3 unread');
    await item.click();
    await page.getByRole('heading', { name: '#patch-notes', level: 2 }).waitFor();
    const messages = page.locator('ol.timeline > li.msg');
    await messages.nth(2).waitFor();
    expect(await messages.locator('.body').allTextContents()).toEqual([
      'The new map crashes when I open the inventory',
      'Same here, on the second level',
      'Thanks for the patch notes!',
    ]);
    // The author's name, from the player Discord made of them, given with the messages.
    await messages.first().locator('.who', { hasText: 'Player One' }).waitFor();
    expect(lookups).toEqual([]);
    // No composer: a mirrored conversation is read-only.
    expect(await page.locator('main textarea').count()).toBe(0);
    // Opened is read: the badge goes, and the API keeps it for this member.
    await item.locator('.unread-badge').waitFor({ state: 'detached' });
    await settle(h, async () => {
      const r = await h.db.admin.query('select 1 from channel_reads where channel_id = $1 and user_id = $2', [
        channelId,
        h.org.ownerId,
      ]);
      return r.rowCount === 1;
    });

    const ticketsBefore = await ticketCount();
    const first = messages.first();
    await first.getByRole('button', { name: /^Create ticket/ }).click();
    const opened = first.locator('.notice', { hasText: 'Ticket opened' });
    await opened.waitFor();
    const number = Number((await opened.getByRole('link').textContent())?.replace('#', ''));
    const ticket = await h.db.admin.query<{ id: string; subject: string; body: string }>(
      `select t.id, t.subject, (select body from messages where ticket_id = t.id order by created_at limit 1) as body
         from tickets t where t.org_id = $1 and t.number = $2`,
      [h.org.orgId, number],
    );
    expect(ticket.rows[0]?.subject).toContain('The new map crashes');
    expect(ticket.rows[0]?.body).toContain('The new map crashes when I open the inventory');
    // Asked again: the same ticket, and the page says it existed.
    await first.getByRole('button', { name: /^Create ticket/ }).click();
    await first.locator('.notice', { hasText: 'has a ticket already' }).waitFor();
    expect(await first.locator('.notice a').textContent()).toBe(`#${number}`);
    expect(await ticketCount()).toBe(ticketsBefore + 1);
    // Nothing of it went to Discord.
    expect(h.fake.requests({ method: 'POST' }).filter((r) => r.path.includes(patchNotes))).toEqual([]);

    expect(await seriousViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'conversations-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await shot(page, 'conversations');

    // The link goes to the ticket.
    await first.locator('.notice a').click();
    await page.waitForURL(`**/o/${h.org.orgId}/t/${ticket.rows[0]?.id}`);
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
  }, 90_000);

  it('what is written in the channel and a new thread of it arrive live, the open one read', async () => {
    const channelId = (await mirrorOf(patchNotes)).channel_id as string;
    await page.goto(`/o/${h.org.orgId}/conversations/${channelId}`);
    await page.locator('ol.timeline > li.msg').nth(2).waitFor();
    await page.evaluate('window.marker = 1');
    const said = `It crashed again after the patch ${Date.now()}`;
    h.fake.userMessage(patchNotes, h.users.player, said);
    await page.locator('ol.timeline > li.msg', { hasText: said }).waitFor({ timeout: 15_000 });
    // On screen, so read: the API's unread count for this member goes back to 0.
    const unread = async () => {
      const r = await api.call(await api.sessionFor(h.org.ownerId), {
        method: 'GET',
        url: `/v1/orgs/${h.org.orgId}/channels?kind=discord_mirror`,
      });
      return r.json().channels as { id: string; name: string | null; unread: number }[];
    };
    await settle(h, async () => (await unread()).find((c) => c.id === channelId)?.unread === 0, 10_000);

    const thread = h.fake.userThread(patchNotes, h.users.player, 'Inventory crash');
    await settle(h, async () => h.bot.client.channels.cache.has(thread.id));
    h.fake.userMessage(thread.id, h.users.player, 'Steps: open the inventory on level 2');
    // Under its channel, said to be a thread of it.
    const threads = page.getByRole('list', { name: 'Threads of #patch-notes' });
    const item = threads.locator('li a', { hasText: '#Inventory crash' });
    await item.waitFor({ timeout: 15_000 });
    expect(await page.locator(`li[data-channel="${channelId}"] ul.conv-threads li a`).count()).toBe(1);
    expect(await item.locator('.thread-of').textContent()).toBe('thread of #patch-notes');
    await item.locator('.unread-badge', { hasText: '1 unread' }).waitFor();
    expect(
      await page
        .getByRole('region', { name: 'Mirrored Discord channels' })
        .locator('.conv-list > li')
        .count(),
    ).toBe(2);
    await item.click();
    await page.getByRole('heading', { name: '#Inventory crash', level: 2 }).waitFor();
    await page.locator('ol.timeline > li.msg', { hasText: 'Steps: open the inventory on level 2' }).waitFor();
    const parentLink = page.locator('.conversation p.thread-of a');
    expect(await parentLink.textContent()).toBe('#patch-notes');
    expect(await parentLink.getAttribute('href')).toBe(`/o/${h.org.orgId}/conversations/${channelId}`);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'conversations-thread');
    expect(await page.evaluate('window.marker')).toBe(1);
  }, 60_000);

  it('a file sent in the channel shows as a download link, an image as a preview once copied here', async () => {
    const channelId = (await mirrorOf(patchNotes)).channel_id as string;
    await page.goto(`/o/${h.org.orgId}/conversations/${channelId}`);
    await page.locator('ol.timeline > li.msg').nth(2).waitFor();
    const text = `Screenshot of the crash ${Date.now()}`;
    h.fake.userMessage(patchNotes, h.users.player, text, {
      attachments: [{ filename: 'bug.png', data: PNG, contentType: 'image/png' }],
    });
    const msg = page.locator('ol.timeline > li.msg', { hasText: text });
    const download = msg.getByRole('link', { name: 'Download bug.png' });
    await download.waitFor({ timeout: 15_000 });
    const files = msg.getByRole('list', { name: /^Files of the message of Player One/ });
    expect(await files.textContent()).toContain(`${PNG.length} B`);
    const row = (
      await h.db.admin.query<{ id: string; external_url: string; storage_key: string | null }>(
        `select a.id, a.external_url, a.storage_key from attachments a join messages m on m.id = a.message_id
          where m.org_id = $1 and m.body = $2`,
        [h.org.orgId, text],
      )
    ).rows[0];
    if (!row) throw new Error('the attachment was not recorded');
    // Not copied here yet: Discord's link (the fake's, a host the page's CSP won't load images
    // from), so the link only, no preview the browser would refuse.
    if (!row.storage_key) {
      expect(await download.getAttribute('href')).toBe(row.external_url);
      expect(await msg.locator('img').count()).toBe(0);
    }

    // Copied into this API's storage, as the workers' copy job does: the signed link and a preview.
    const key = `orgs/${h.org.orgId}/attachments/${row.id}`;
    await api.app.storage.put(key, PNG, { contentType: 'image/png' });
    await h.db.admin.query('update attachments set storage_key = $2 where id = $1', [row.id, key]);
    await page.reload();
    const preview = msg.getByRole('img', { name: 'bug.png' });
    await preview.waitFor();
    await expect
      .poll(() =>
        preview.evaluate((i) => {
          const img = i as unknown as { complete: boolean; naturalWidth: number };
          return img.complete && img.naturalWidth;
        }),
      )
      .toBe(1);
    const href = (await download.getAttribute('href')) ?? '';
    expect(href).toMatch(new RegExp(`/v1/files/${row.id}\\?token=`));
    const res = await page.request.get(href);
    expect(res.status()).toBe(200);
    expect(Buffer.from(await res.body()).equals(PNG)).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'conversations-file');
  }, 60_000);

  it('a member who may read neither members nor players sees the authors by name', async () => {
    const channelId = (await mirrorOf(patchNotes)).channel_id as string;
    const reader = await createUser(h.db.app, { displayName: 'Ticket reader' });
    await withTenant(h.db.app, h.org.orgId, async (tx) => {
      await createRole(
        tx,
        { key: 'reader', name: 'Reader', permissions: ['org.read', 'tickets.read'] },
        h.org.owner,
      );
      await addMember(tx, { userId: reader.id, role: 'reader' }, h.org.owner);
    });
    const session = await api.sessionFor(reader.id);
    const other = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 900 } });
    try {
      other.setDefaultTimeout(10_000);
      await other.addCookies([{ name: 'gm_session', value: session.cookie as string, url }]);
      const p = await other.newPage();
      const lookups = nameLookups(p);
      await p.goto(`/o/${h.org.orgId}/conversations/${channelId}`);
      const messages = p.locator('ol.timeline > li.msg');
      await messages.nth(2).waitFor();
      expect(await messages.locator('.who').first().textContent()).toContain('Player One');
      // Every message here is the player's: named, never "A player".
      for (const who of await messages.locator('.who').allTextContents()) expect(who).toContain('Player One');
      expect(lookups).toEqual([]);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('Conversations works from the keyboard and at 375 px', async () => {
    const channelId = (await mirrorOf(leads)).channel_id as string;
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`/o/${h.org.orgId}/conversations`);
    const item = page.locator(`li[data-channel="${channelId}"] > a`);
    await item.waitFor();
    expect(await item.locator('.unread-badge').textContent()).toBe('1 unread');
    await item.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Discord channel ${leads}`, level: 2 }).waitFor();
    // Focus moves to the conversation's title, so a screen reader starts there.
    // (once shown: the move happens after the messages are rendered)
    await page.waitForFunction("document.activeElement?.id === 'conv-title'", null, { timeout: 5_000 });
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent?.trim()')).toBe('Create ticket');
    await page.locator('ol.timeline > li.msg', { hasText: 'private plans' }).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'conversations-375px');
    await page.goto(`/o/${h.org.orgId}/settings/discord`);
    await entry(leads).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, 'settings-discord-mirrors-375px');
    // Stop mirroring, asked twice: the mirror goes, its conversation stays, archived.
    await entry(leads)
      .getByRole('button', { name: `Stop mirroring channel ${leads}` })
      .click();
    expect(await mirrorOf(leads)).toBeDefined();
    await entry(leads).getByRole('button', { name: 'Cancel' }).waitFor();
    await entry(leads)
      .getByRole('button', { name: `Stop mirroring channel ${leads}` })
      .click();
    await page.getByText(`Stopped mirroring channel ${leads}`).waitFor();
    await entry(leads).waitFor({ state: 'detached' });
    expect(await mirrorOf(leads)).toBeUndefined();
    const archived = await h.db.admin.query('select archived_at from message_channels where id = $1', [
      channelId,
    ]);
    expect(archived.rows[0]?.archived_at).not.toBeNull();

    // Its conversation is still there, apart, as no longer mirrored, and still readable.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`/o/${h.org.orgId}/conversations`);
    const gone = page.getByRole('region', { name: 'No longer mirrored' });
    const old = gone.locator(`li[data-channel="${channelId}"] > a`);
    await old.waitFor();
    expect(
      await page
        .getByRole('region', { name: 'Mirrored Discord channels' })
        .locator(`li[data-channel="${channelId}"]`)
        .count(),
    ).toBe(0);
    await old.click();
    await page.locator('ol.timeline > li.msg', { hasText: 'private plans' }).waitFor();
    expect(await page.locator('.conversation .notice', { hasText: 'No longer mirrored' }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'conversations-no-longer-mirrored');
  }, 60_000);

  it('logged no console errors and no page errors on the way', () => {
    // The 422 of the bad channel id is the one refused request, shown under its field.
    expect(errors.filter((e) => !/status of 422/.test(e))).toEqual([]);
  });
});
