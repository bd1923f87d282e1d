import { mkdtempSync, rmSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { type RedisHandle, startRedis } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';
import { type RelayThread, startRelayThread } from '../../workers/relay-thread.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { logger, uniquePrefix, until } from './support.js';

// The relay thread's supervision: a thread that dies is replaced, at the relay's priority, and a
// replacement that cannot start (Redis away) is tried again until it does; nothing committed
// meanwhile is lost. The file lowers its own thread's priority: it runs in a process of its own
// (vitest.config.ts).

const db = useTestDb(6);
const dir = mkdtempSync(join(tmpdir(), 'gm-relay-thread-'));
let redis: RedisHandle | undefined;
let thread: RelayThread | undefined;

afterAll(async () => {
  await thread?.stop().catch(() => {});
  await redis?.stop({ kill: true });
  rmSync(dir, { recursive: true, force: true });
});

const relayed = async (outboxIds: number[]) => {
  const r = await db.admin.query<{ n: number }>(
    'select count(*)::int as n from outbox where id = any($1::bigint[]) and relayed_at is not null',
    [outboxIds],
  );
  return r.rows[0]?.n === outboxIds.length;
};

describe('the outbox relay thread', () => {
  it('is started again after it dies, and again until it can start, relaying what waited', async () => {
    redis = await startRedis({ dir, port: await freePort(), install: true, durable: false, log: () => {} });
    const org = await makeOrg(db.app);
    const open = async (subject: string) =>
      withTenant(db.app, org.orgId, async (tx) => {
        await openTicket(tx, { subject, origin: 'api' }, org.owner);
        const r = await tx.query<{ id: string }>('select max(id)::text as id from outbox');
        return Number(r.rows[0]?.id);
      });
    thread = await startRelayThread({
      pool: db.app,
      redisUrl: redis.url,
      prefix: uniquePrefix(),
      logger,
      pollMs: 50,
      // Restarts after 200 ms, then 400, 800, 1,600 ms… instead of 1, 2, 4, 8 s: the same
      // supervision, without sitting out its seconds.
      restartMs: 200,
    });
    const first = thread.current();
    expect(first).toBeDefined();
    const a = await open('Before the thread dies');
    await until(() => relayed([a]), 10_000);

    // The workers then put their job processors (this thread) below the relay (lib/priority.ts).
    expect(first?.nice).toBe(0);
    setPriority(0, 5);
    expect(getPriority(0)).toBe(5);

    // A thread that dies (an uncaught error, its memory limit) is replaced after a moment, at the
    // relay's priority still, not at the priority of the thread that asked for it.
    await first?.terminate();
    expect(thread.current()).toBeUndefined();
    const b = await open('While no thread runs');
    await until(async () => thread?.restarts === 1 && (await relayed([b])), 15_000);
    expect(thread.current()).toBeDefined();
    expect(thread.current()).not.toBe(first);
    expect(thread.current()?.nice).toBe(0);

    // It dies while Redis is away: each new thread fails to connect, and is tried again (here
    // after 200, 400, 800 ms…) instead of given up, so the relay comes back with Redis. The wait
    // outlasts the first two tries.
    await redis.stop({ kill: true });
    await thread.current()?.terminate();
    const c = await open('While Redis is away');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(thread.current()).toBeUndefined();
    expect(await relayed([c])).toBe(false);
    await redis.restart();
    await until(async () => thread?.restarts === 2 && (await relayed([c])), 30_000);
  }, 60_000);
});
