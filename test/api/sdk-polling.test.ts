import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { type SdkWorld, sdkCall, sdkWorld } from './sdk-support.js';
import { startTestApi, type TestApi } from './support.js';

/**
 * A game that polls with `since` must see every change exactly once it has paged to the end,
 * however many changed at once (a merge or a bulk close touches dozens in one statement, all with
 * the same time).
 */
const db = useTestDb();
let w: SdkWorld;
let api: TestApi;
const roomy = { burst: 100_000, perMinute: 1_000_000 };

beforeAll(async () => {
  w = await sdkWorld(db, 'SdkPolling');
  api = await startTestApi(db.app, { sdkRateLimits: { key: roomy, player: roomy, address: roomy } });
});
afterAll(() => api.close());

/** Polls from `since` until a page is empty or the cursor stops; every ticket id seen, in order. */
async function pollAll(playerId: string, since: string) {
  const seen: string[] = [];
  let cursor = since;
  for (let page = 0; page < 10; page++) {
    const res = await sdkCall(api, w.clientKey, 'GET', `/tickets?playerId=${playerId}&since=${cursor}`);
    expect(res.statusCode, res.body).toBe(200);
    const { tickets, cursor: next } = res.json() as { tickets: Array<{ id: string }>; cursor: string };
    seen.push(...tickets.map((t) => t.id));
    if (tickets.length === 0 || next === cursor) return seen;
    cursor = next;
  }
  throw new Error('still paging after 10 pages');
}

/**
 * A transaction of the app begun now and left open: what a staff action still being written looks
 * like to a poll. Its rows carry its start time, whenever it commits.
 */
async function openWriter() {
  const writer = await db.app.connect();
  await writer.query('begin');
  await writer.query(`select set_config('app.org_id', $1, true)`, [w.org.orgId]);
  await writer.query('select now()');
  return writer;
}

/** A staff-side message on a ticket, written by `client` (the ticket's first channel). */
async function staffMessage(client: { query: typeof db.admin.query }, ticketId: string, body: string) {
  await client.query(
    `insert into messages (org_id, channel_id, ticket_id, author_type, body, origin)
     select t.org_id, m.channel_id, t.id, 'system', $2, 'panel'
       from tickets t join lateral (select channel_id from messages where ticket_id = t.id limit 1) m on true
      where t.id = $1::uuid`,
    [ticketId, body],
  );
}

describe('/sdk/v1 polling with since', () => {
  it('pages through more changes than fit a page, with no change lost to a shared time', async () => {
    const player = { id: 'poll:1', name: 'Poller' };
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) {
      const res = await sdkCall(api, w.clientKey, 'POST', '/tickets', {
        player,
        subject: `Bug ${i}`,
        body: 'x',
      });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().ticket.id);
    }
    const first = await sdkCall(api, w.clientKey, 'GET', `/tickets?playerId=${player.id}`);
    const { cursor } = first.json() as { cursor: string };
    // All 55 change in one statement, so they share one updated_at.
    const changed = await db.admin.query(`update tickets set status = 'pending' where id = any($1::uuid[])`, [
      ids,
    ]);
    expect(changed.rowCount).toBe(55);
    const seen = await pollAll(player.id, cursor);
    expect(new Set(seen).size).toBe(55);
    expect(seen.length).toBe(55);
  });

  it('never moves the cursor past a ticket change still being committed', async () => {
    const player = { id: 'poll:3', name: 'Poller' };
    const ids: string[] = [];
    for (const subject of ['slow', 'fast']) {
      const res = await sdkCall(api, w.clientKey, 'POST', '/tickets', { player, subject, body: 'x' });
      ids.push(res.json().ticket.id);
    }
    const [slow, fast] = ids as [string, string];
    const first = await sdkCall(api, w.clientKey, 'GET', `/tickets?playerId=${player.id}`);
    const { cursor } = first.json() as { cursor: string };
    // A change whose transaction began first (its updated_at is that start) commits last.
    const writer = await openWriter();
    try {
      await writer.query(`update tickets set status = 'pending' where id = $1::uuid`, [slow]);
      await new Promise((r) => setTimeout(r, 5));
      await db.admin.query(`update tickets set status = 'pending' where id = $1::uuid`, [fast]);
      const during = await sdkCall(api, w.clientKey, 'GET', `/tickets?playerId=${player.id}&since=${cursor}`);
      expect(during.statusCode, during.body).toBe(200);
      const body = during.json() as { tickets: Array<{ id: string }>; cursor: string };
      expect(body.tickets.map((t) => t.id)).toEqual([fast]);
      await writer.query('commit');
      const later = await pollAll(player.id, body.cursor);
      expect(later).toContain(slow);
    } finally {
      writer.release();
    }
  });

  it('never moves the cursor past a reply still being committed, and shows the player their own at once', async () => {
    const player = { id: 'poll:4', name: 'Poller' };
    const open = await sdkCall(api, w.clientKey, 'POST', '/tickets', { player, subject: 'Race', body: 'x' });
    const ticketId = open.json().ticket.id as string;
    const path = (since?: string) =>
      `/tickets/${ticketId}?playerId=${player.id}${since ? `&since=${since}` : ''}`;
    const { cursor } = (await sdkCall(api, w.clientKey, 'GET', path())).json() as { cursor: string };
    // Staff begin a reply (its time is this start); the player's own reply commits meanwhile, and
    // only then does the staff reply reach its insert.
    const writer = await openWriter();
    try {
      await new Promise((r) => setTimeout(r, 5));
      const mine = await sdkCall(api, w.clientKey, 'POST', `/tickets/${ticketId}/replies`, {
        player,
        body: 'player again',
      });
      expect(mine.statusCode, mine.body).toBe(201);
      const during = (await sdkCall(api, w.clientKey, 'GET', path(cursor))).json() as {
        messages: Array<{ body: string }>;
        cursor: string;
      };
      expect(during.messages.map((m) => m.body)).toEqual(['player again']);
      await staffMessage(writer, ticketId, 'staff answer');
      await writer.query('commit');
      const after = (await sdkCall(api, w.clientKey, 'GET', path(during.cursor))).json() as {
        messages: Array<{ body: string }>;
      };
      expect(after.messages.map((m) => m.body)).toContain('staff answer');
    } finally {
      writer.release();
    }
  });

  it('pages through the replies of a ticket that many came to at the same instant', async () => {
    const player = { id: 'poll:2', name: 'Poller' };
    const open = await sdkCall(api, w.clientKey, 'POST', '/tickets', { player, subject: 'Chat', body: 'x' });
    const ticketId = open.json().ticket.id as string;
    const first = await sdkCall(api, w.clientKey, 'GET', `/tickets/${ticketId}?playerId=${player.id}`);
    const { cursor } = first.json() as { cursor: string };
    // 210 replies with one created_at (one statement), more than one page of 200.
    await db.admin.query(
      `insert into messages (org_id, channel_id, ticket_id, author_type, body, origin)
       select t.org_id, m.channel_id, t.id, 'system', 'reply ' || g, 'panel'
         from tickets t
         join lateral (select channel_id from messages where ticket_id = t.id limit 1) m on true,
              generate_series(1, 210) g
        where t.id = $1::uuid`,
      [ticketId],
    );
    const seen: string[] = [];
    let since = cursor;
    for (let page = 0; page < 5; page++) {
      const res = await sdkCall(
        api,
        w.clientKey,
        'GET',
        `/tickets/${ticketId}?playerId=${player.id}&since=${since}`,
      );
      const body = res.json() as { messages: Array<{ id: string }>; cursor: string };
      if (body.messages.length === 0) break;
      seen.push(...body.messages.map((m) => m.id));
      since = body.cursor;
    }
    expect(new Set(seen).size).toBe(210);
  });
});
