import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { withTenant } from '../db/tenant.js';
import { createSubscription } from '../db/webhooks.js';
import { createSecretBox } from '../lib/secret-box.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { newSdkGame } from './api/sdk-support.js';
import { useTestDb } from './support/db.js';
import { makeOrg } from './support/fixtures.js';
import {
  attr,
  chainOf,
  freePort,
  SPAN_KIND,
  startOtlpReceiver,
  startWebhookTarget,
  until,
} from './support/otlp.js';
import { claimRedisDb } from './support/redis-db.js';

const ROOT = resolve(import.meta.dirname, '..');
const db = useTestDb(2);

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

// A report is only made durable by its request; the workers' fold opens the ticket and writes
// player.reported a moment later, in a job of its own. The trace must still run through.
describe('one trace from a game report to the webhook delivery of player.reported', () => {
  it('joins POST /sdk/v1/reports, the fold, the relay, the job and the webhook request', async () => {
    const otlp = await startOtlpReceiver();
    const target = await startWebhookTarget();
    cleanups.push(
      () => otlp.server.close(),
      () => target.server.close(),
    );
    const secretKey = randomSecretKey();
    const org = await makeOrg(db.app, 'Reported');
    const game = await newSdkGame(db, org, 'arena');
    await withTenant(db.app, org.orgId, (tx) =>
      createSubscription(
        tx,
        { url: target.url, eventTypes: ['player.reported', 'ticket.created'] },
        org.owner,
        createSecretBox(secretKey),
      ),
    );

    const dataDir = mkdtempSync(join(tmpdir(), 'gamemod-otel-reports-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    // A Redis database of its own: this process's BullMQ queues use the default prefix.
    const redisDb = await claimRedisDb(inject('services').redisUrl);
    cleanups.push(() => redisDb.release());
    const redisUrl = redisDb.url;
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        ROLES: 'api,workers',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: db.appUrl,
        REDIS_URL: redisUrl,
        EMBEDDED_INSTALL: 'never',
        SEED_DEMO: 'false',
        DATA_DIR: dataDir,
        SECRET_KEY: secretKey,
        WEBHOOK_ALLOW_LOOPBACK: 'true',
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        // Everything is exported at the shutdown, in one batch (see test/telemetry.test.ts).
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        OTEL_BSP_MAX_QUEUE_SIZE: '100000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c;
    });
    const exited = once(child, 'exit');

    const base = `http://127.0.0.1:${port}`;
    await until(
      () => `the API to answer (output so far: ${out.slice(-2000)})`,
      async () => (await fetch(`${base}/health`).catch(() => undefined))?.ok || undefined,
      60_000,
    );
    const res = await fetch(`${base}/sdk/v1/reports`, {
      method: 'POST',
      headers: { 'x-game-key': game.clientKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        reporter: { id: 'steam:1', name: 'Ann' },
        reported: { id: 'steam:2', name: 'Bo' },
        reason: 'cheating',
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { report } = (await res.json()) as { report: { id: string; ticketId: string } };

    await until(
      () => `both webhook deliveries to succeed (output: ${out.slice(-2000)})`,
      async () => {
        const r = await db.admin.query<{ event_type: string }>(
          `select event_type from webhook_deliveries where org_id = $1 and status = 'succeeded'`,
          [org.orgId],
        );
        const types = new Set(r.rows.map((x) => x.event_type));
        return types.has('player.reported') && types.has('ticket.created') ? true : undefined;
      },
    );
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, out.slice(-3000)).toBe(0);

    const server = otlp.spans.find(
      (e) =>
        e.span.kind === SPAN_KIND.SERVER && attr(e.span, 'http.request.method', 'http.method') === 'POST',
    )?.span;
    expect(server, `spans: ${otlp.spans.map((e) => e.span.name).join(', ')}`).toBeDefined();
    expect(server?.name).toBe('POST /sdk/v1/reports');
    const traceId = server?.traceId as string;
    const trace = otlp.spans.filter((e) => e.span.traceId === traceId);
    const names = trace.map((e) => e.span.name);

    // The report kept the request's context, and so did both events the fold wrote from it.
    const stored = await db.admin.query<{ traceparent: string | null }>(
      'select traceparent from player_reports where id = $1',
      [report.id],
    );
    expect(stored.rows[0]?.traceparent).toBe(`00-${traceId}-${server?.spanId}-01`);
    const events = await db.admin.query<{ event_type: string; traceparent: string | null }>(
      `select event_type, traceparent from outbox where org_id = $1 order by id`,
      [org.orgId],
    );
    expect(events.rows.map((r) => r.event_type).sort()).toEqual(['player.reported', 'ticket.created']);
    for (const r of events.rows) expect(r.traceparent, r.event_type).toMatch(new RegExp(`^00-${traceId}-`));

    // Each delivery is a client span whose ancestors run back to the SDK request.
    const hookPort = new URL(target.url).port;
    const deliveries = trace.filter(
      (e) =>
        e.span.kind === SPAN_KIND.CLIENT &&
        String(attr(e.span, 'url.full', 'http.url') ?? '').includes(`:${hookPort}/hook`),
    );
    expect(deliveries, `trace: ${names.join(', ')}`).toHaveLength(2);
    for (const relayed of ['player.reported', 'ticket.created']) {
      const chain = chainOf(
        trace,
        deliveries.find((d) => chainOf(trace, d.span).some((s) => s.name === `outbox.relay ${relayed}`))
          ?.span,
      ).map((s) => s.name);
      expect(chain, `trace: ${names.join(', ')}`).toEqual(
        expect.arrayContaining(['job webhook.fanout', `outbox.relay ${relayed}`]),
      );
      expect(chain.at(-1)).toBe(server?.name);
    }
    // Connected: one root (the request), every other span's parent in the same trace.
    const ids = new Set(trace.map((e) => e.span.spanId));
    const roots = trace.filter((e) => !e.span.parentSpanId || !ids.has(e.span.parentSpanId));
    expect(roots.map((e) => e.span.name)).toEqual([server?.name]);
    // Every received webhook named the request's trace.
    expect(target.received.map((h) => String(h.traceparent).split('-')[1])).toEqual([traceId, traceId]);
  }, 200_000);
});
