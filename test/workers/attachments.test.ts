import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTACHMENT_BYTES } from '../../db/attachments.js';
import { SYSTEM } from '../../db/changes.js';
import { recordDiscordMessage } from '../../db/discord-sync.js';
import type { OutboxRow } from '../../db/outbox.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { attachmentKey, copyAttachments, discordFileHosts } from '../../workers/attachments.js';
import type { WorkerDeps } from '../../workers/deps.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { useTestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { processorsFor, testDeps, uniquePrefix, until } from './support.js';

/**
 * Files attached on Discord are recorded with a CDN link that expires; the `attachment.copy` job
 * (from the `message.attachments_added` event) copies them into storage. The fake Discord serves
 * the files, on loopback, as its CDN.
 */

const db = useTestDb();
let fake: FakeDiscord;
let dir: string;
let env: ReturnType<typeof testDeps>;
let deps: WorkerDeps;

beforeAll(async () => {
  fake = await startFakeDiscord();
  dir = await mkdtemp(join(tmpdir(), 'gm-copy-'));
  env = testDeps(db.app, uniquePrefix());
  deps = {
    ...env.deps,
    storage: new LocalStorage(dir),
    discordFileHosts: discordFileHosts(`${fake.url}/api`),
  };
});
afterAll(async () => {
  await env.close();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A Discord message with these files in a new ticket: its attachments' rows and its outbox event. */
async function discordMessage(
  files: { filename: string; data?: Buffer; size?: number; contentType?: string }[],
) {
  const org = await makeOrg(db.app);
  const guild = fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }] });
  const player = fake.addUser({ username: 'player' });
  const sent = fake.userMessage(guild.channels.support as string, player.id, 'see attached', {
    attachments: files,
  });
  const urls = (sent.attachments as { url: string }[]).map((a) => a.url);
  const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
    openTicket(tx, { subject: 'Crash', origin: 'discord' }, SYSTEM),
  );
  await withTenant(db.app, org.orgId, (tx) =>
    recordDiscordMessage(
      tx,
      {
        ticketId: ticket.id,
        messageId: sent.id,
        body: 'see attached',
        attachments: files.map((f, i) => ({
          filename: f.filename,
          contentType: f.contentType ?? 'application/octet-stream',
          sizeBytes: f.data?.length ?? f.size ?? 0,
          url: urls[i] as string,
        })),
      },
      SYSTEM,
    ),
  );
  const ev = await db.admin.query<OutboxRow>(
    `select id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
       aggregate_id as "aggregateId", payload, created_at as "createdAt"
     from outbox where org_id = $1 and event_type = 'message.attachments_added'`,
    [org.orgId],
  );
  const rows = async () =>
    (
      await db.admin.query(
        `select id, filename, size_bytes, storage_key, sha256, external_url from attachments
         where org_id = $1 order by filename`,
        [org.orgId],
      )
    ).rows;
  return { org, event: ev.rows[0] as OutboxRow, rows, urls };
}

describe('copying Discord attachments into storage', () => {
  it('copies each file once, through the job the relay derives from the event', async () => {
    const png = randomBytes(70_000);
    const log = Buffer.from('line 1\nline 2\n');
    const m = await discordMessage([
      { filename: 'crash.png', data: png, contentType: 'image/png' },
      { filename: 'game.log', data: log, contentType: 'text/plain' },
    ]);
    const jobs = impliedJobs(m.event);
    expect(jobs.map((j) => j.name)).toEqual(['attachment.copy']);
    const processors = processorsFor(env, { files: 2 }, deps);
    try {
      await env.deps.queues.enqueueMany(jobs);
      const rows = await until(async () => {
        const r = await m.rows();
        return r.every((a) => a.storage_key) ? r : undefined;
      });
      const storage = deps.storage as LocalStorage;
      for (const [row, data] of [
        [rows[0], png],
        [rows[1], log],
      ] as const) {
        expect(row.storage_key).toBe(attachmentKey(m.org.orgId, row.id));
        expect(row).toMatchObject({ size_bytes: data.length, sha256: sha256(data) });
        const obj = await storage.get(row.storage_key);
        const chunks: Buffer[] = [];
        for await (const c of obj.body) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
      }
      // The link stays, for the record; running the copy again fetches nothing.
      expect(rows.map((r) => r.external_url)).toEqual(m.urls);
      const fetched = fake.requests({ method: 'GET' }).filter((r) => r.path.startsWith('/cdn/')).length;
      expect(await copyAttachments(deps, jobs[0]?.payload as never)).toEqual({});
      expect(fake.requests({ method: 'GET' }).filter((r) => r.path.startsWith('/cdn/')).length).toBe(fetched);
    } finally {
      await processors.close();
    }
  });

  it('gives up on a deleted or expired file, and retries a CDN failure until the file comes', async () => {
    const m = await discordMessage([{ filename: 'a.txt', data: Buffer.from('a') }]);
    const [url] = m.urls;
    const path = new URL(url as string).pathname;
    const data = { orgId: m.org.orgId, attachmentIds: [(await m.rows())[0].id] };

    fake.failNext({ method: 'GET', path }, 500);
    await expect(copyAttachments(deps, data)).rejects.toThrow(/answered 500/);
    expect((await m.rows())[0].storage_key).toBeNull();
    expect(Object.values(await copyAttachments(deps, data))).toEqual(['copied']);

    const gone = await discordMessage([{ filename: 'b.txt', data: Buffer.from('b') }]);
    fake.failNext({ method: 'GET', path: new URL(gone.urls[0] as string).pathname }, 404);
    const goneData = { orgId: gone.org.orgId, attachmentIds: [(await gone.rows())[0].id] };
    expect(Object.values(await copyAttachments(deps, goneData))).toEqual(['gone']);
    expect((await gone.rows())[0].storage_key).toBeNull();
  });

  it('fetches nothing from hosts that are not Discord’s, and refuses files over the limit', async () => {
    const m = await discordMessage([{ filename: 'x.txt', data: Buffer.from('x') }]);
    const [row] = await m.rows();
    await db.admin.query('update attachments set external_url = $2 where id = $1', [
      row.id,
      'http://127.0.0.1:1/internal/secret',
    ]);
    const before = fake.log.requests.length;
    expect(
      Object.values(await copyAttachments(deps, { orgId: m.org.orgId, attachmentIds: [row.id] })),
    ).toEqual(['refused']);
    expect(fake.log.requests.length).toBe(before);

    const big = await discordMessage([{ filename: 'huge.bin', size: MAX_ATTACHMENT_BYTES + 1 }]);
    const [bigRow] = await big.rows();
    expect(
      Object.values(await copyAttachments(deps, { orgId: big.org.orgId, attachmentIds: [bigRow.id] })),
    ).toEqual(['too_large']);
    expect((await big.rows())[0].storage_key).toBeNull();
    expect(await (deps.storage as LocalStorage).exists(attachmentKey(big.org.orgId, bigRow.id))).toBe(false);
  });

  it("reads only its own organization's attachments", async () => {
    const a = await discordMessage([{ filename: 'mine.txt', data: Buffer.from('mine') }]);
    const b = await discordMessage([{ filename: 'theirs.txt', data: Buffer.from('theirs') }]);
    const theirs = (await b.rows())[0].id;
    expect(await copyAttachments(deps, { orgId: a.org.orgId, attachmentIds: [theirs] })).toEqual({});
    expect((await b.rows())[0].storage_key).toBeNull();
  });

  it('keeps a type Discord gave only when it is a plain media type (it becomes a download header)', async () => {
    const org = await makeOrg(db.app);
    const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Types', origin: 'discord' }, SYSTEM),
    );
    const types = ['image/png', 'text/plain; charset=utf-8', 'text/html\r\nSet-Cookie: a=b', 'nonsense'];
    await withTenant(db.app, org.orgId, (tx) =>
      recordDiscordMessage(
        tx,
        {
          ticketId: ticket.id,
          messageId: '123456789012345678',
          body: 'files',
          attachments: types.map((contentType, i) => ({
            filename: `f${i}`,
            contentType,
            sizeBytes: 1,
            url: `${fake.url}/cdn/attachments/1/2/f${i}`,
          })),
        },
        SYSTEM,
      ),
    );
    const r = await db.admin.query(
      'select content_type from attachments where org_id = $1 order by filename',
      [org.orgId],
    );
    expect(r.rows.map((x) => x.content_type)).toEqual([
      'image/png',
      'text/plain; charset=utf-8',
      'application/octet-stream',
      'application/octet-stream',
    ]);
  });
});
