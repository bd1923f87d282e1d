import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SYSTEM } from '../db/changes.js';
import { recordDiscordMessage } from '../db/discord-sync.js';
import type { OutboxRow } from '../db/outbox.js';
import { createPool, type Pool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { createLogger } from '../lib/logger.js';
import { createSecretBox } from '../lib/secret-box.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { LocalStorage } from '../lib/storage/index.js';
import { impliedJobs } from '../workers/event-jobs.js';
import { FILE_COPIES_AT_ONCE, startWorkerRuntime } from '../workers/runtime.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { median } from './lib/load.js';
import { makeBenchOrg, withRedis } from './outbox.js';

const FILES_PER_ROUND = 300;
const FILE_BYTES = 1024 * 1024;
const ROUNDS = 3;
/** As many copies at once as the workers run (their `files` queue); the baseline does the same. */
const CONCURRENCY = FILE_COPIES_AT_ONCE;
const TARGET = 0.8;

/** A loopback stand-in for Discord's CDN: every path answers the same file. */
async function serveCdn(body: Buffer) {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The baseline: what a copy cannot avoid, without the job around it. For each file: GET it,
 * stream it into the same storage (hashed, with its metadata, renamed into place), and set the
 * row's key, size and digest with one UPDATE; `CONCURRENCY` at a time. No queue, no tenant
 * transaction, no re-read of the row, no checks.
 */
async function rawCopies(
  rows: ReadonlyArray<{ id: string; url: string }>,
  storage: LocalStorage,
  admin: Pool,
  orgId: string,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < rows.length; i = next++) {
        const row = rows[i] as { id: string; url: string };
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
          http.get(row.url, resolve).on('error', reject),
        );
        const key = `orgs/${orgId}/attachments/${row.id}`;
        const stored = await storage.put(key, res, { contentType: 'image/png', maxBytes: 25 * 1024 * 1024 });
        await admin.query(
          'update attachments set storage_key = $2, size_bytes = $3, sha256 = $4 where id = $1',
          [row.id, key, stored.size, stored.sha256],
        );
      }
    }),
  );
}

async function copied(admin: Pool, orgId: string): Promise<number> {
  const r = await admin.query<{ n: number }>(
    'select count(*)::int as n from attachments where org_id = $1 and storage_key is not null',
    [orgId],
  );
  return r.rows[0]?.n ?? 0;
}

async function run(log: (msg: string) => void): Promise<void> {
  await withCluster(log, async (pgh) => {
    await withRedis(async (redis) => {
      const opts = { statementTimeoutMs: 10_000, connectTimeoutMs: 5_000 };
      const pool = createPool({ url: pgh.urlFor('app'), max: 20, ...opts });
      const admin = createPool({ url: pgh.urlFor('super'), max: 2, ...opts });
      const file = randomBytes(FILE_BYTES);
      const cdn = await serveCdn(file);
      const dir = mkdtempSync(join(tmpdir(), 'gamemod-bench-files-'));
      const storage = new LocalStorage(join(dir, 'storage'));
      // The baseline's own connections, as many as it runs copies at once.
      const rawAdmin = createPool({ url: pgh.urlFor('super'), max: CONCURRENCY, ...opts });
      const runtime = await startWorkerRuntime({
        pool,
        redisUrl: redis.url,
        logger: createLogger('silent'),
        box: createSecretBox(randomSecretKey()),
        webhookTargets: { allowLoopback: true, allowPrivate: false },
        storage,
        // The stand-in CDN's host counts as Discord's, as a configured DISCORD_API_URL's does.
        discordApiUrl: `${cdn.base}/api`,
        schedulers: false,
        relay: { enabled: false },
        prefix: 'benchfiles',
      });
      let message = 0;

      /** Records one Discord message with one attachment per file, as the bot does. */
      const record = async (orgId: string, ticketId: string): Promise<OutboxRow[]> => {
        const since = Number(
          (await admin.query<{ m: number }>('select coalesce(max(id), 0)::bigint as m from outbox')).rows[0]
            ?.m ?? 0,
        );
        for (let i = 0; i < FILES_PER_ROUND; i++) {
          message++;
          await withTenant(pool, orgId, (tx) =>
            recordDiscordMessage(
              tx,
              {
                ticketId,
                messageId: String(100_000_000_000_000_000n + BigInt(message)),
                body: 'screenshot',
                attachments: [
                  {
                    filename: `shot-${message}.png`,
                    contentType: 'image/png',
                    sizeBytes: FILE_BYTES,
                    url: `${cdn.base}/attachments/${message}/shot.png`,
                  },
                ],
              },
              SYSTEM,
            ),
          );
        }
        const r = await admin.query<OutboxRow>(
          `select id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
             aggregate_id as "aggregateId", payload, created_at as "createdAt"
           from outbox where id > $1 and event_type = 'message.attachments_added' order by id`,
          [since],
        );
        return r.rows;
      };

      // Each round records into a fresh org, so "all copied" is a count over that org alone.
      const freshRound = async (round: number, side: string) => {
        const org = await makeBenchOrg(pool, `Files${side}${round}`);
        const { ticket } = await withTenant(pool, org.orgId, (tx) =>
          openTicket(tx, { subject: 'Screenshots', origin: 'discord' }, SYSTEM),
        );
        return { orgId: org.orgId, events: await record(org.orgId, ticket.id) };
      };
      const realRound = async (round: number) => {
        const { orgId, events } = await freshRound(round, 'Job');
        const t0 = performance.now();
        await runtime.queues.enqueueMany(events.flatMap((e) => impliedJobs(e)));
        while ((await copied(admin, orgId)) < FILES_PER_ROUND) await new Promise((r) => setTimeout(r, 10));
        return { rate: FILES_PER_ROUND / ((performance.now() - t0) / 1000), orgId };
      };
      const baselineRound = async (round: number) => {
        const { orgId } = await freshRound(round, 'Raw');
        const rows = await admin.query<{ id: string; url: string }>(
          'select id, external_url as url from attachments where org_id = $1',
          [orgId],
        );
        const t0 = performance.now();
        await rawCopies(rows.rows, storage, rawAdmin, orgId);
        const rate = FILES_PER_ROUND / ((performance.now() - t0) / 1000);
        if ((await copied(admin, orgId)) !== FILES_PER_ROUND) throw new Error('the baseline missed files');
        return rate;
      };

      try {
        log(
          `${FILES_PER_ROUND} files of ${FILE_BYTES / 1024} KiB per round from a loopback CDN, ${CONCURRENCY} at a time, into local storage`,
        );
        await baselineRound(0);
        await realRound(0);
        const base: number[] = [];
        const real: number[] = [];
        let lastOrg = '';
        for (let i = 1; i <= ROUNDS; i++) {
          for (const which of i % 2 ? ['raw', 'job'] : ['job', 'raw']) {
            if (which === 'raw') {
              const v = await baselineRound(i);
              base.push(v);
              log(`  round ${i} GET + put + UPDATE  ${v.toFixed(0).padStart(5)} files/s`);
            } else {
              const { rate, orgId } = await realRound(i);
              real.push(rate);
              lastOrg = orgId;
              log(`  round ${i} attachment.copy     ${rate.toFixed(0).padStart(5)} files/s`);
            }
          }
        }
        // The copies are the files: same size and digest as what the CDN served.
        const digest = createHash('sha256').update(file).digest('hex');
        const wrong = await admin.query<{ n: number }>(
          `select count(*)::int as n from attachments
           where org_id = $1 and (sha256 is distinct from $2 or size_bytes <> $3)`,
          [lastOrg, digest, FILE_BYTES],
        );
        const ratio = median(real) / median(base);
        log(
          `median: attachment.copy ${median(real).toFixed(0)} files/s, baseline ${median(base).toFixed(0)} files/s`,
        );
        log(`copies differing from the served file: ${wrong.rows[0]?.n ?? -1}`);
        log(
          `ratio copy job ÷ baseline = ${ratio.toFixed(2)} (target ≥ ${TARGET}, every copy intact): ${ratio >= TARGET && wrong.rows[0]?.n === 0 ? 'PASS' : 'FAIL'}`,
        );
      } finally {
        await runtime.stop();
        await cdn.close();
        await rawAdmin.end();
        await admin.end();
        await pool.end();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

export const attachments: Benchmark = {
  name: 'attachments',
  description:
    'copying Discord attachments through the job vs the same GET, storage write and UPDATE without it (target ≥ 0.8)',
  run,
};
