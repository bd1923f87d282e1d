import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTACHMENT_BYTES } from '../../db/attachments.js';
import { SYSTEM } from '../../db/changes.js';
import { recordDiscordMessage } from '../../db/discord-sync.js';
import type { OutboxRow } from '../../db/outbox.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { LocalStorage, type Storage } from '../../lib/storage/index.js';
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

interface RecordedTx {
  orgId: string | undefined;
  statements: { text: string; values: unknown[] }[];
}

/**
 * The test database's pool, recording each transaction taken from it (one per `connect`): the
 * tenant its opening statement set and the statements sent in it.
 */
function recordingPool(pool: Pool): { pool: Pool; transactions: RecordedTx[] } {
  const transactions: RecordedTx[] = [];
  const connect = async () => {
    const client = await pool.connect();
    const tx: RecordedTx = { orgId: undefined, statements: [] };
    transactions.push(tx);
    const query = (q: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
      const text = typeof q === 'string' ? q : q.text;
      const org = /set_config\('app\.org_id', '([^']+)'/.exec(text)?.[1];
      if (org) tx.orgId = org;
      else if (!/^(begin|commit|rollback)$/.test(text)) {
        tx.statements.push({ text, values: (typeof q === 'string' ? values : q.values) ?? [] });
      }
      return typeof q === 'string' ? client.query(q, values) : client.query(q);
    };
    return new Proxy(client, {
      get: (target, prop) => {
        if (prop === 'query') return query;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
  return {
    pool: new Proxy(pool, {
      get: (target, prop) => (prop === 'connect' ? connect : Reflect.get(target, prop, target)),
    }),
    transactions,
  };
}

const isRead = (t: RecordedTx) => t.statements.some((s) => /^\s*select\b/i.test(s.text));
const isMark = (t: RecordedTx) => t.statements.some((s) => /\bupdate attachments\b/i.test(s.text));
const uuidsIn = (v: unknown): string[] =>
  JSON.stringify(v).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];

/**
 * The real storage, except that each put, once its object is written, waits until `count` puts
 * have been written: the copies then finish together, as concurrent jobs' copies often do, and
 * their marks are due at the same moment.
 */
function storageFinishingTogether(real: LocalStorage, count: number): Storage {
  let written = 0;
  let release = () => {};
  const all = new Promise<void>((r) => {
    release = r;
  });
  return {
    driver: real.driver,
    put: async (key, body, opts) => {
      try {
        return await real.put(key, body, opts);
      } finally {
        if (++written >= count) release();
        await all;
      }
    },
    get: (key) => real.get(key),
    delete: (key) => real.delete(key),
    exists: (key) => real.exists(key),
    presignGet: (key) => real.presignGet(key),
  };
}

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

  it('leaves no copy of a file whose row was deleted while it downloaded (a retention purge)', async () => {
    const m = await discordMessage([{ filename: 'purged.txt', data: Buffer.from('purged') }]);
    const [row] = await m.rows();
    const real = deps.storage as LocalStorage;
    const purging: Storage = {
      ...real,
      driver: real.driver,
      put: async (key, body, opts) => {
        const stored = await real.put(key, body, opts);
        await db.admin.query('delete from attachments where id = $1', [row.id]);
        return stored;
      },
      get: (key) => real.get(key),
      delete: (key) => real.delete(key),
      exists: (key) => real.exists(key),
      presignGet: (key) => real.presignGet(key),
    };
    const out = await copyAttachments(
      { ...deps, storage: purging },
      { orgId: m.org.orgId, attachmentIds: [row.id] },
    );
    expect(out).toEqual({ [row.id]: 'gone' });
    expect(await real.exists(attachmentKey(m.org.orgId, row.id))).toBe(false);
  });

  it("reads only its own organization's attachments", async () => {
    const a = await discordMessage([{ filename: 'mine.txt', data: Buffer.from('mine') }]);
    const b = await discordMessage([{ filename: 'theirs.txt', data: Buffer.from('theirs') }]);
    const theirs = (await b.rows())[0].id;
    expect(await copyAttachments(deps, { orgId: a.org.orgId, attachmentIds: [theirs] })).toEqual({});
    expect((await b.rows())[0].storage_key).toBeNull();
  });

  it("batches concurrent jobs of one organization: one read and one mark for all, each row marked once, a replay 'already'", async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({
      filename: `f${i}.txt`,
      data: randomBytes(2_000 + i),
    }));
    const m = await discordMessage(files);
    const rows = await m.rows();
    const rec = recordingPool(db.app);
    const real = deps.storage as LocalStorage;
    const jobDeps: WorkerDeps = {
      ...deps,
      pool: rec.pool,
      storage: storageFinishingTogether(real, rows.length),
    };
    const results = await Promise.all(
      rows.map((r) => copyAttachments(jobDeps, { orgId: m.org.orgId, attachmentIds: [r.id] })),
    );
    expect(results).toEqual(rows.map((r) => ({ [r.id]: 'copied' })));
    const after = await m.rows();
    for (const [i, row] of after.entries()) {
      const data = files[i]?.data as Buffer;
      expect(row).toMatchObject({
        storage_key: attachmentKey(m.org.orgId, row.id),
        size_bytes: data.length,
        sha256: sha256(data),
      });
    }
    // Six files, two transactions: the six jobs' reads in one, their six marks in another.
    expect(rec.transactions.filter(isRead)).toHaveLength(1);
    expect(rec.transactions.filter(isMark)).toHaveLength(1);
    expect(rec.transactions.length).toBeLessThan(rows.length);

    // The same jobs again, twice each at once (a replay racing a stalled run): every pair reads
    // its files linked, copies them to the same object, and one of the two marks each row.
    const again = await discordMessage(files.slice(0, 3));
    const againRows = await again.rows();
    const rec2 = recordingPool(db.app);
    const racing: WorkerDeps = { ...deps, pool: rec2.pool, storage: storageFinishingTogether(real, 6) };
    const twice = await Promise.all(
      [...againRows, ...againRows].map((r) =>
        copyAttachments(racing, { orgId: again.org.orgId, attachmentIds: [r.id] }),
      ),
    );
    for (const r of againRows) {
      const outcomes = twice.filter((o) => r.id in o).map((o) => o[r.id]);
      expect(outcomes.sort()).toEqual(['already', 'copied']);
    }
    expect(rec2.transactions.filter(isMark)).toHaveLength(1);
    expect((await again.rows()).every((r) => r.storage_key === attachmentKey(again.org.orgId, r.id))).toBe(
      true,
    );
    // And once copied, a job that runs again fetches and marks nothing.
    expect(await copyAttachments(deps, { orgId: m.org.orgId, attachmentIds: rows.map((r) => r.id) })).toEqual(
      {},
    );
  });

  it("never mixes two organizations' jobs in one transaction, and a failing batch fails only its own jobs", async () => {
    const a = await discordMessage(['a0', 'a1', 'a2'].map((f) => ({ filename: f, data: Buffer.from(f) })));
    const b = await discordMessage(['b0', 'b1', 'b2'].map((f) => ({ filename: f, data: Buffer.from(f) })));
    const [aRows, bRows] = [await a.rows(), await b.rows()];
    const rec = recordingPool(db.app);
    const jobDeps: WorkerDeps = {
      ...deps,
      pool: rec.pool,
      storage: storageFinishingTogether(deps.storage as LocalStorage, 6),
    };
    const jobs = [
      ...aRows.map((r) => ({ orgId: a.org.orgId, attachmentIds: [r.id] })),
      ...bRows.map((r) => ({ orgId: b.org.orgId, attachmentIds: [r.id] })),
      // B naming A's file, in the same moment as A's own job for it: B's tenant finds nothing.
      { orgId: b.org.orgId, attachmentIds: [aRows[0].id] },
    ];
    // A job whose batch cannot even open its transaction, in the same moment as the others.
    const broken = copyAttachments(jobDeps, { orgId: 'not-an-org', attachmentIds: [aRows[1].id] }).catch(
      (err: unknown) => err,
    );
    const results = await Promise.all(jobs.map((j) => copyAttachments(jobDeps, j)));
    expect(await broken).toMatchObject({ code: 'not_found', message: 'organization not found' });
    expect(results).toEqual([...aRows, ...bRows].map((r) => ({ [r.id]: 'copied' })).concat([{}]));
    for (const [m, rs] of [
      [a, await a.rows()],
      [b, await b.rows()],
    ] as const) {
      expect(rs.map((r) => r.storage_key)).toEqual(rs.map((r) => attachmentKey(m.org.orgId, r.id)));
    }

    const own = new Map([
      [a.org.orgId, new Set(aRows.map((r) => r.id))],
      [b.org.orgId, new Set(bRows.map((r) => r.id))],
    ]);
    const asked = new Map<string, Set<string>>();
    for (const j of jobs) asked.set(j.orgId, new Set([...(asked.get(j.orgId) ?? []), ...j.attachmentIds]));
    for (const t of rec.transactions) {
      const org = t.orgId as string;
      expect(own.has(org)).toBe(true);
      // A read names only what that organization's jobs asked for; a mark only its own rows.
      const allowed = isMark(t) ? (own.get(org) as Set<string>) : (asked.get(org) as Set<string>);
      for (const u of uuidsIn(t.statements.map((s) => s.values))) {
        if (u !== org) expect(allowed.has(u)).toBe(true);
      }
    }
    // One read and one mark per organization, where each job used to take one of each.
    for (const org of own.keys()) {
      expect(rec.transactions.filter((t) => t.orgId === org && isRead(t))).toHaveLength(1);
      expect(rec.transactions.filter((t) => t.orgId === org && isMark(t))).toHaveLength(1);
    }
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
