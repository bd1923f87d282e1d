import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SYSTEM } from '../db/changes.js';
import { addInboundAddress } from '../db/email-addresses.js';
import { createOrganization } from '../db/organizations.js';
import { createPool, type Pool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { createUser } from '../db/users.js';
import { createLogger } from '../lib/logger.js';
import { LocalStorage } from '../lib/storage/index.js';
import { intakeEmail } from '../workers/email-intake.js';
import { startSmtpIntake } from '../workers/email-smtp.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { fmtMs, quantile } from './lib/load.js';

/**
 * Email intake over SMTP against the same intake called directly, in the same run: mails sent
 * at a fixed rate (open loop: each latency counts from when the mail was due, so a stall is not
 * hidden), half of them first mails (new tickets), half replies to a mail sent a second earlier
 * (threaded by In-Reply-To). The listener answers 250 only after the mail's transaction commits,
 * so the SMTP latency (due → 250) bounds accepted → committed from above. Afterwards every mail
 * is looked for in the database: none may be missing. The mails are spread over ORGS organizations.
 */
const RATE = 100;
const SECONDS = 10;
const CONNECTIONS = 8;
/** Mails are spread over this many organizations (a ticket open holds its org's counter row until commit). */
const ORGS = 8;
const P99_TARGET_MS = 200;

interface Run {
  label: string;
  sent: number;
  seconds: number;
  p50: number;
  p99: number;
  failed: number;
  ids: string[];
}

function mail(i: number, run: string, to: string): { raw: Buffer; messageId: string; from: string } {
  const messageId = `${run}-${i}@bench.players.example`;
  const from = `player${i % 200}@players.example`;
  // Seconds alternate: first mails, then replies to the mail sent one second (RATE mails) before.
  const reply = Math.floor(i / RATE) % 2 === 1;
  const headers = [
    `From: Player ${i % 200} <${from}>`,
    `To: ${to}`,
    `Subject: ${reply ? 'Re: ' : ''}Cannot log in ${run} ${reply ? i - RATE : i}`,
    `Message-ID: <${messageId}>`,
    ...(reply ? [`In-Reply-To: <${run}-${i - RATE}@bench.players.example>`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  const body = reply
    ? 'Still broken after the update.\r\n\r\nOn Tue, 3 Mar 2026 at 10:00, Support wrote:\r\n> Try again?\r\n'
    : 'Since the last update the launcher says my session expired, every time I log in.\r\n';
  return { raw: Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`), messageId, from };
}

/** Fires `send(i)` at RATE per second for SECONDS, never waiting for one before the next is due. */
async function openLoop(label: string, send: (i: number) => Promise<void>, ids: string[]): Promise<Run> {
  const total = RATE * SECONDS;
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      send(i).then(
        () => {
          latencies.push(performance.now() - due);
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    label,
    sent: latencies.length,
    seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    failed,
    ids,
  };
}

async function missing(admin: Pool, ids: string[]): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `select count(*)::int as n from unnest($1::text[]) as want(id)
      where not exists (select 1 from email_messages e where e.direction = 'in' and e.message_id = want.id)`,
    [ids],
  );
  return r.rows[0]?.n ?? ids.length;
}

export const email: Benchmark = {
  name: 'email',
  description: `email intake over SMTP at ${RATE} msg/s over ${ORGS} orgs vs the same intake called directly`,
  async run(log) {
    await withCluster(log, async (pgh) => {
      const pool = createPool({
        url: pgh.urlFor('app'),
        max: 10,
        statementTimeoutMs: 10_000,
        connectTimeoutMs: 5_000,
        applicationName: 'gamemod-bench-email',
      });
      const admin = createPool({
        url: pgh.urlFor('super'),
        max: 1,
        statementTimeoutMs: 30_000,
        connectTimeoutMs: 5_000,
      });
      const dir = mkdtempSync(join(tmpdir(), 'gamemod-bench-email-'));
      const logger = createLogger('silent');
      const storage = new LocalStorage(dir);
      try {
        const owner = await createUser(pool, { displayName: 'Bench email' });
        const orgs: { id: string; address: string }[] = [];
        for (let o = 0; o < ORGS; o++) {
          const slug = `bench-email-${o}-${randomBytes(3).toString('hex')}`;
          const org = await createOrganization(
            pool,
            { name: `Bench email ${o}`, slug, ownerUserId: owner.id },
            SYSTEM,
          );
          const address = `support@${slug}.localhost`;
          await withTenant(pool, org.id, (tx) => addInboundAddress(tx, { address }, SYSTEM));
          orgs.push({ id: org.id, address });
        }
        // By the mail's place within its second, so a reply goes to the organization of the mail it answers.
        const orgOf = (i: number) => orgs[(i % RATE) % ORGS] as { id: string; address: string };
        const deps = { pool, storage, logger };
        const intake = await startSmtpIntake(deps, { host: '127.0.0.1', port: 0, maxBytes: 1024 * 1024 });
        const transport = nodemailer.createTransport({
          pool: true,
          host: '127.0.0.1',
          port: intake.port,
          secure: false,
          ignoreTLS: true,
          maxConnections: CONNECTIONS,
          maxMessages: Number.POSITIVE_INFINITY,
        });
        try {
          // Warm-up: connections, prepared plans, the storage folder.
          const warm: string[] = [];
          for (let i = 0; i < 20; i++) {
            const { address } = orgOf(i);
            const m = mail(i, 'warm', address);
            warm.push(m.messageId);
            await transport.sendMail({ envelope: { from: m.from, to: [address] }, raw: m.raw });
          }
          // The direct calls get as many at once as the SMTP client has connections.
          let running = 0;
          const queue: (() => void)[] = [];
          const limited = async (fn: () => Promise<unknown>) => {
            if (running >= CONNECTIONS) await new Promise<void>((r) => queue.push(r));
            running++;
            try {
              await fn();
            } finally {
              running--;
              queue.shift()?.();
            }
          };
          const direct: string[] = [];
          const baseline = await openLoop(
            'intake called directly',
            async (i) => {
              const { id, address } = orgOf(i);
              const m = mail(i, 'direct', address);
              direct.push(m.messageId);
              await limited(() =>
                intakeEmail(deps, id, m.raw, { mailFrom: m.from, rcptTo: [address], via: 'smtp' }),
              );
            },
            direct,
          );
          const viaSmtp: string[] = [];
          const smtp = await openLoop(
            'over SMTP',
            async (i) => {
              const { address } = orgOf(i);
              const m = mail(i, 'smtp', address);
              viaSmtp.push(m.messageId);
              await transport.sendMail({ envelope: { from: m.from, to: [address] }, raw: m.raw });
            },
            viaSmtp,
          );
          for (const r of [baseline, smtp]) {
            const lost = await missing(admin, r.ids);
            log(
              `${r.label.padEnd(24)} ${(r.sent / r.seconds).toFixed(1).padStart(6)} msg/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}` +
                `  (${r.sent} of ${RATE * SECONDS} in ${r.seconds.toFixed(1)} s, ${r.failed} refused, ${lost} missing in the database)`,
            );
          }
          const threaded = await admin.query<{ reason: string | null; n: number }>(
            `select reason, count(*)::int as n from email_messages where message_id like 'smtp-%'
              group by reason order by reason`,
          );
          log(
            `threading of the SMTP run: ${threaded.rows.map((r) => `${r.reason ?? 'new'} ${r.n}`).join(', ')}`,
          );
          const lost = await missing(admin, smtp.ids);
          const met = smtp.sent / smtp.seconds >= RATE * 0.99 && smtp.p99 <= P99_TARGET_MS && lost === 0;
          log(
            `target (>= ${RATE} msg/s, p99 <= ${P99_TARGET_MS} ms accepted → committed, 0 lost): ${met ? 'PASS' : 'FAIL'};` +
              ` SMTP p99 / direct p99 = ${(smtp.p99 / baseline.p99).toFixed(2)}×, p50 ${(smtp.p50 / baseline.p50).toFixed(2)}×`,
          );
        } finally {
          transport.close();
          await intake.close();
        }
      } finally {
        await pool.end();
        await admin.end();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
};
