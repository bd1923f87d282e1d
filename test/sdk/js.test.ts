import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  ForbiddenError,
  GameMod,
  MemoryStorage,
  NotFoundError,
  RateLimitError,
  ValidationError,
} from '../../sdk/js/src/index.js';
import { fileStorage } from '../../sdk/js/src/node-storage.js';
import { closeContextsSince, sharedBrowser } from '../panel/support.js';
import { useTestDb } from '../support/db.js';
import { type SdkTestServer, startSdkTestServer } from './support.js';

// The JavaScript SDK (sdk/js) against the real API on loopback: under Node here, and in Chromium
// from a page on another origin (so CORS is exercised as a browser game meets it).
const SDK_DIR = resolve(import.meta.dirname, '../../sdk/js/src');
const db = useTestDb();
let server: SdkTestServer;

beforeAll(async () => {
  server = await startSdkTestServer(db, 'js');
});
afterAll(async () => {
  await server?.close();
});

const hero = { id: 'js:hero', name: 'Hero' };
const quick = (o: Partial<ConstructorParameters<typeof GameMod>[0]> = {}) =>
  new GameMod({ baseUrl: server.baseUrl, key: server.world.clientKey, baseDelayMs: 10, ...o });

describe('the JavaScript SDK under Node', () => {
  it('opens a ticket, polls it with ETag and since, and replies', async () => {
    const gm = quick();
    const { ticket, created } = await gm.openTicket({
      player: hero,
      subject: 'Stuck in a wall',
      body: 'Cannot move',
      context: { build: '1.0.3', position: { x: 1, y: 2 } },
    });
    expect(created).toBe(true);
    const list = await gm.listTickets(hero.id);
    expect(list.tickets.map((t) => t.id)).toContain(ticket.id);
    const again = await gm.listTickets(hero.id, { etag: list.etag ?? undefined });
    expect(again.notModified).toBe(true);
    const since = await gm.listTickets(hero.id, { since: list.cursor ?? undefined });
    expect(since.tickets).toEqual([]);
    const r = await gm.reply(ticket.id, { player: hero, body: 'Still stuck' });
    expect(r.created).toBe(true);
    const detail = await gm.getTicket(ticket.id, hero.id);
    expect(detail.messages.map((m) => m.body)).toEqual(['Cannot move', 'Still stuck']);
  });

  it("reads a staff reply's file on the message and downloads it through a short-lived link", async () => {
    const runId = `js-files-${Date.now().toString(36)}`;
    const f = await server.staffFile(server.world, runId);
    const gm = quick();
    const detail = await gm.getTicket(f.ticketId, f.playerId);
    const [opening, sent] = detail.messages;
    expect(opening?.attachments).toEqual([]);
    expect(sent?.id).toBe(f.messageId);
    expect(sent?.attachments).toEqual([
      {
        id: f.attachmentId,
        filename: f.filename,
        contentType: f.contentType,
        sizeBytes: f.sizeBytes,
        url: expect.stringMatching(/^\/sdk\/v1\/tickets\//),
      },
    ]);
    const again = await gm.getTicket(f.ticketId, f.playerId, { etag: detail.etag ?? undefined });
    expect(again.notModified).toBe(true);
    const link = await gm.attachmentLink(sent?.attachments[0] as { url: string });
    expect(link.expiresInSeconds).toBe(60);
    // The link names the server's public address; the bytes are fetched from where this test reaches it.
    const { pathname, search } = new URL(link.url);
    const file = await fetch(`${server.baseUrl}${pathname}${search}`);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe(`{"run":"${runId}"}\n`);
    await expect(
      gm.attachmentLink({ url: sent?.attachments[0]?.url.replace(f.playerId, hero.id) ?? '' }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('turns errors into typed errors', async () => {
    const bad = quick({ key: 'gmk_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    await expect(bad.onlineNow()).rejects.toBeInstanceOf(AuthError);
    const gm = quick();
    await expect(gm.publishAnnouncement({ title: 't', body: 'b' })).rejects.toBeInstanceOf(ForbiddenError);
    const invalid = await gm.openTicket({ player: hero, subject: '', body: 'x' }).catch((e) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid.code).toBe('validation_failed');
    await expect(gm.getTicket('00000000-0000-4000-8000-000000000000', hero.id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('backs off on 429, waiting at least Retry-After, and the retry succeeds once', async () => {
    const gm = quick({ baseUrl: server.flakyUrl });
    const t0 = Date.now();
    const { created } = await gm.openTicket({ player: hero, subject: 'Retry me', body: 'please' });
    expect(created).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    const n = await db.admin.query(`select count(*)::int as n from tickets where subject = 'Retry me'`);
    expect(n.rows[0].n).toBe(1);
    // Out of retries against a real limit: a RateLimitError carrying the server's Retry-After.
    const limited = new GameMod({ baseUrl: server.limitedUrl, key: server.world.clientKey, retries: 0 });
    const p = { id: 'js:limited', name: 'L' };
    await limited.listTickets(p.id);
    await limited.listTickets(p.id);
    const e = await limited.listTickets(p.id).catch((x) => x);
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e.retryAfter).toBeGreaterThanOrEqual(1);
  });

  it('queues a report while the server is down and sends it later, once, from persistent storage', async () => {
    const file = join(server.dir, 'js-queue.json');
    const report = {
      reporter: hero,
      reported: { id: 'js:villain', name: 'Villain' },
      reason: 'griefing' as const,
      message: 'burned my base',
    };
    const down = quick({ baseUrl: server.deadUrl, storage: fileStorage(file), retries: 1 });
    const r = await down.reportPlayer(report);
    expect(r.queued).toBe(true);
    expect(await down.queued()).toHaveLength(1);
    // A later run of the game, the server back: the queue is on disk.
    const up = quick({ storage: fileStorage(file) });
    const flushed = await up.flushQueue();
    expect(flushed.sent).toHaveLength(1);
    expect(flushed.remaining).toBe(0);
    // Sending the same queued item again (a crash before the queue was saved) files nothing new.
    const { idempotencyKey } = r;
    const resent = await up.request('POST', '/reports', { body: report, idempotencyKey });
    expect(resent.status).toBe(200);
    const n = await db.admin.query(
      `select count(*)::int as n from player_reports r join player_profiles p on p.id = r.reported_id
        where p.game_account_id = 'js:villain'`,
    );
    expect(n.rows[0].n).toBe(1);
  });

  it('keeps queued reports when the key is refused (401), as the Lua and C# queues do', async () => {
    const storage = new MemoryStorage();
    const down = quick({ baseUrl: server.deadUrl, storage, retries: 0 });
    const r = await down.reportPlayer({
      reporter: hero,
      reported: { id: 'js:cheat', name: 'Cheat' },
      reason: 'cheating',
    });
    expect(r.queued).toBe(true);
    // A revoked key: a game update may bring a new one, and the reports must still go then.
    const stale = quick({ key: `gmk_00000000_${'A'.repeat(43)}`, storage, retries: 0 });
    const refused = await stale.flushQueue();
    expect(refused.rejected.map((x) => x.error.name)).toEqual([]);
    expect(refused.remaining).toBe(1);
    const later = await quick({ storage }).flushQueue();
    expect(later.sent.map((x) => x.idempotencyKey)).toEqual([r.idempotencyKey]);
    expect(later.remaining).toBe(0);
  });

  it('runs sessions, link codes, announcements and moderation status', async () => {
    const gm = quick();
    const server2 = quick({ key: server.world.serverSecret, storage: new MemoryStorage() });
    const s = await gm.startSession({ player: hero, platform: 'web' });
    expect(await gm.onlineNow()).toBeGreaterThanOrEqual(1);
    await gm.heartbeat(s.session.id);
    await gm.endSession(s.session.id);
    expect((await server2.linkCode(hero)).code).toMatch(/^[A-Z2-9]{8}$/);
    await server2.publishAnnouncement({ title: 'Patch 1.1', body: 'Notes' });
    const a = await gm.announcements();
    expect(a.announcements.map((x) => x.title)).toContain('Patch 1.1');
    expect((await gm.announcements({ etag: a.etag ?? undefined })).notModified).toBe(true);
    expect(await server2.moderationStatus(hero.id)).toMatchObject({
      playerId: hero.id,
      warned: false,
      banned: false,
      muted: false,
    });
  });
});

describe('the JavaScript SDK in Chromium', () => {
  let browser: Browser;
  let before: Set<BrowserContext>;
  let page: Server;
  beforeAll(async () => {
    // The game's page on its own origin, importing the SDK's files as they ship.
    page = createServer((req, res) => {
      const name = (req.url ?? '/').slice(1);
      if (/^[a-z-]+\.js$/.test(name)) {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(readFileSync(join(SDK_DIR, name)));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>game</title>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', () => r()));
    browser = await sharedBrowser();
    before = new Set(browser.contexts());
  });
  afterAll(async () => {
    if (browser) await closeContextsSince(browser, before);
    await new Promise<void>((r) => page?.close(() => r()));
  });

  it('opens a ticket, reads it back, and queues a report in localStorage while the server is down', async () => {
    const tab = await browser.newPage();
    const origin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    await tab.goto(`${origin}/`);
    const cfg = { api: server.baseUrl, dead: server.deadUrl, key: server.world.clientKey };
    const out = await tab.evaluate(
      `(async (cfg) => {
        const sdk = await import('${origin}/index.js');
        const gm = new sdk.GameMod({ baseUrl: cfg.api, key: cfg.key, storage: localStorage, baseDelayMs: 10 });
        const player = { id: 'web:1', name: 'Browser player' };
        const { ticket } = await gm.openTicket({ player, subject: 'From the browser', body: 'hi', context: { platform: 'web' } });
        const list = await gm.listTickets(player.id);
        const again = await gm.listTickets(player.id, { etag: list.etag });
        const wrong = await new sdk.GameMod({ baseUrl: cfg.api, key: 'nope' }).onlineNow().catch((e) => e.name);
        const down = new sdk.GameMod({ baseUrl: cfg.dead, key: cfg.key, storage: localStorage, retries: 0 });
        const q = await down.reportPlayer({ reporter: player, reported: { id: 'web:2', name: 'X' }, reason: 'spam' });
        const stored = JSON.parse(localStorage.getItem('gamemod.reports.queue')).length;
        const sent = (await gm.flushQueue()).sent.length;
        return { ticket: ticket.id, listed: list.tickets.map((t) => t.id), notModified: again.notModified, wrong, queued: q.queued, stored, sent };
      })(${JSON.stringify(cfg)})`,
    );
    const r = out as Record<string, unknown>;
    expect(r.listed).toEqual([r.ticket]);
    expect(r).toMatchObject({ notModified: true, wrong: 'AuthError', queued: true, stored: 1, sent: 1 });
    await tab.close();
  });

  it('ends the session from pagehide as the README shows: the request outlives the page', async () => {
    const tab = await browser.newPage();
    const origin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    await tab.goto(`${origin}/`);
    const cfg = { api: server.baseUrl, key: server.world.clientKey };
    const sessionId = await tab.evaluate(
      `(async (cfg) => {
        const sdk = await import('${origin}/index.js');
        const gm = new sdk.GameMod({ baseUrl: cfg.api, key: cfg.key });
        const { session } = await gm.startSession({ player: { id: 'web:leaving', name: 'Leaving' }, platform: 'web' });
        addEventListener('pagehide', () => gm.endSession(session.id));
        return session.id;
      })(${JSON.stringify(cfg)})`,
    );
    // The player leaves: the page unloads right after pagehide fires.
    await tab.goto('about:blank');
    const ended = async () =>
      (await db.admin.query('select ended_at from player_sessions where id = $1::uuid', [sessionId])).rows[0]
        ?.ended_at;
    await expect.poll(ended, { timeout: 5_000 }).not.toBeNull();
    await tab.close();
  });
});
