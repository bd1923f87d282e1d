import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { SYSTEM } from '../../db/changes.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { alice, bob, type SdkWorld, sdkCall, sdkWorld } from './sdk-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

// A file staff send with a reply reaches the player in game: the message lists it with a path
// that never changes (polls stay 304), and that path, asked with the game key for the player's own
// ticket, leads to a short-lived signed link that downloads the exact bytes. Files staff uploaded
// but never sent, and other players' files, stay out of reach.

const db = useTestDb();
let w: SdkWorld;
let api: TestApi;
let staff: Caller;
const roomy = { burst: 100_000, perMinute: 1_000_000 };
const CONFIG = Buffer.from('{"fov":90,"vsync":false}\n');

beforeAll(async () => {
  w = await sdkWorld(db, 'SdkFiles');
  api = await startTestApi(db.app, { sdkRateLimits: { key: roomy, player: roomy, address: roomy } });
  staff = await api.sessionFor(w.org.ownerId);
});
afterAll(() => api.close());

interface Poll {
  messages: Array<{
    id: string;
    author: string;
    attachments: Array<{ id: string; filename: string; contentType: string; sizeBytes: number; url: string }>;
  }>;
  cursor: string;
}

const upload = (ticketId: string, filename: string, bytes: Buffer) =>
  api.call(staff, {
    method: 'POST',
    url: `/v1/orgs/${w.org.orgId}/tickets/${ticketId}/attachments?filename=${filename}`,
    headers: { 'content-type': 'application/json' },
    payload: bytes,
  });

/** A ticket of `player` from the game, with a staff reply carrying one file and one file never sent. */
async function ticketWithStaffFile(player: { id: string; name: string }) {
  const opened = await sdkCall(api, w.clientKey, 'POST', '/tickets', {
    player,
    subject: 'My settings are broken',
    body: 'The game resets my FOV',
  });
  expect(opened.statusCode, opened.body).toBe(201);
  const ticketId = opened.json<{ ticket: { id: string } }>().ticket.id;
  const sent = await upload(ticketId, 'settings.json', CONFIG);
  expect(sent.statusCode, sent.body).toBe(201);
  const kept = await upload(ticketId, 'internal.json', Buffer.from('{"staff":true}'));
  expect(kept.statusCode, kept.body).toBe(201);
  const fileId = sent.json<{ id: string }>().id;
  const r = await api.call(staff, {
    method: 'POST',
    url: `/v1/orgs/${w.org.orgId}/tickets/${ticketId}/replies`,
    payload: { body: 'Use this config.', attachmentIds: [fileId] },
  });
  expect(r.statusCode, r.body).toBe(201);
  return { ticketId, fileId, unsentId: kept.json<{ id: string }>().id };
}

const get = (url: string, key: string, headers: Record<string, string> = {}) =>
  api.app.inject({ method: 'GET', url, headers: { 'x-game-key': key, ...headers } });

describe("a staff reply's file in the game's view of the ticket", () => {
  it('is listed on the reply with a stable path that downloads the exact bytes', async () => {
    const { ticketId, fileId, unsentId } = await ticketWithStaffFile(alice);
    const poll = await sdkCall(api, w.clientKey, 'GET', `/tickets/${ticketId}?playerId=${alice.id}`);
    expect(poll.statusCode, poll.body).toBe(200);
    const { messages } = poll.json<Poll>();
    expect(messages.map((m) => [m.author, m.attachments.length])).toEqual([
      ['player', 0],
      ['staff', 1],
    ]);
    const file = messages[1]?.attachments[0];
    expect(file).toEqual({
      id: fileId,
      filename: 'settings.json',
      contentType: 'application/json',
      sizeBytes: CONFIG.length,
      url: `/sdk/v1/tickets/${ticketId}/attachments/${fileId}?playerId=${encodeURIComponent(alice.id)}`,
    });
    // The file staff kept is on no message, so nowhere in the player's view.
    expect(poll.body).not.toContain(unsentId);

    // The body is the same on the next poll: the ETag still holds.
    const again = await sdkCall(
      api,
      w.clientKey,
      'GET',
      `/tickets/${ticketId}?playerId=${alice.id}`,
      undefined,
      {
        'if-none-match': poll.headers.etag as string,
      },
    );
    expect(again.statusCode).toBe(304);

    const hop = await get(file?.url as string, w.clientKey);
    expect(hop.statusCode, hop.body).toBe(302);
    expect(hop.headers['cache-control']).toBe('private, no-store');
    const link = new URL(hop.headers.location as string);
    expect(link.pathname).toBe(`/v1/files/${fileId}`);
    const token = link.searchParams.get('token') as string;
    const claims = api.app.signer.verify(token, fileId);
    expect(claims.expiresAt - Date.now() / 1000).toBeLessThanOrEqual(60);
    const download = await api.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(CONFIG)).toBe(true);

    // A browser game asks for the link itself.
    const asJson = await get(file?.url as string, w.clientKey, { accept: 'application/json' });
    expect(asJson.statusCode).toBe(200);
    expect(asJson.json()).toMatchObject({
      url: expect.stringContaining(`/v1/files/${fileId}?token=`),
      expiresInSeconds: 60,
    });
  });

  it("is not reachable as another player, with another studio's key, or when staff never sent it", async () => {
    const { ticketId, fileId, unsentId } = await ticketWithStaffFile({ id: 'steam:1003', name: 'Cleo' });
    // Bob exists in this game (he has a ticket of his own) and still can't reach Cleo's file.
    await sdkCall(api, w.clientKey, 'POST', '/tickets', { player: bob, subject: 'Hi', body: 'Mine' });
    const path = (id: string, player: string) =>
      `/sdk/v1/tickets/${ticketId}/attachments/${id}?playerId=${encodeURIComponent(player)}`;
    const asBob = await get(path(fileId, bob.id), w.clientKey);
    expect([asBob.statusCode, asBob.json().error.code]).toEqual([404, 'not_found']);
    const unknown = await get(path(fileId, 'steam:nobody'), w.clientKey);
    expect(unknown.statusCode).toBe(404);
    const otherStudio = await get(path(fileId, 'steam:1003'), w.otherOrgKey);
    expect(otherStudio.statusCode).toBe(404);
    const unsent = await get(path(unsentId, 'steam:1003'), w.clientKey);
    expect(unsent.statusCode).toBe(404);
    const noKey = await api.app.inject({ method: 'GET', url: path(fileId, 'steam:1003') });
    expect(noKey.statusCode).toBe(401);
    const own = await get(path(fileId, 'steam:1003'), w.clientKey);
    expect(own.statusCode).toBe(302);
  });

  it("lists the player's own files on their own message (from Discord or email) the same way", async () => {
    const opened = await sdkCall(api, w.clientKey, 'POST', '/tickets', {
      player: { id: 'steam:1004', name: 'Dara' },
      subject: 'Crash',
      body: 'Crash log attached by mail',
    });
    const ticketId = opened.json<{ ticket: { id: string } }>().ticket.id;
    const log = Buffer.from('panic at frame 42\n');
    const key = `orgs/${w.org.orgId}/attachments/sdk-own-${ticketId}`;
    await api.app.storage.put(key, Readable.from([log]), { contentType: 'text/plain' });
    const fileId = await withTenant(db.app, w.org.orgId, async (tx) => {
      const first = await tx.query<{ id: string }>('select id from messages where ticket_id = $1::uuid', [
        ticketId,
      ]);
      const a = await recordAttachment(
        tx,
        {
          messageId: first.rows[0]?.id,
          filename: 'crash.log',
          contentType: 'text/plain',
          sizeBytes: log.length,
          storageKey: key,
          origin: 'email',
        },
        SYSTEM,
      );
      return a.id;
    });
    const poll = await sdkCall(api, w.clientKey, 'GET', `/tickets/${ticketId}?playerId=steam:1004`);
    const [first] = poll.json<Poll>().messages;
    expect(first?.author).toBe('player');
    expect(first?.attachments.map((a) => [a.id, a.filename, a.sizeBytes])).toEqual([
      [fileId, 'crash.log', log.length],
    ]);
    const hop = await get(first?.attachments[0]?.url as string, w.clientKey);
    const link = new URL(hop.headers.location as string);
    const download = await api.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(download.rawPayload.equals(log)).toBe(true);
  });
});
