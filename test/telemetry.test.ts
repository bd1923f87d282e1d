import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createApiToken } from '../db/api-tokens.js';
import { withTenant } from '../db/tenant.js';
import { createSubscription } from '../db/webhooks.js';
import { createSecretBox } from '../lib/secret-box.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { startTelemetry, telemetryEnvSchema, telemetrySettings } from '../lib/telemetry.js';
import { contextFromTraceparent, currentTraceparent } from '../lib/trace-context.js';
import { compiledDist } from './support/compiled-build.js';
import { useTestDb } from './support/db.js';
import { makeOrg } from './support/fixtures.js';
import {
  attr,
  freePort,
  type OtlpSpan,
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

describe('tracing settings', () => {
  it('is off unless an OTLP endpoint or exporter is named, and off again when disabled', () => {
    expect(telemetrySettings({}, 'gamemod-api').enabled).toBe(false);
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, 'x').enabled).toBe(false);
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'x').enabled).toBe(
      true,
    );
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }, 'x').enabled,
    ).toBe(true);
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp' }, 'x').enabled).toBe(true);
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(telemetrySettings({ ...on, OTEL_TRACES_EXPORTER: 'none' }, 'x').enabled).toBe(false);
    expect(telemetrySettings({ ...on, OTEL_SDK_DISABLED: 'TRUE' }, 'x').enabled).toBe(false);
    expect(telemetrySettings({ ...on, OTEL_SERVICE_NAME: 'studio-api' }, 'x').serviceName).toBe('studio-api');
    expect(telemetrySettings(on, 'gamemod-workers').serviceName).toBe('gamemod-workers');
  });

  it('refuses what it cannot honour, naming the variable', () => {
    expect(() => telemetrySettings({ OTEL_TRACES_EXPORTER: 'zipkin' }, 'x')).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => telemetrySettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'x')).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL/,
    );
    expect(() => telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'x')).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });

  it("are all in the README's tracing table", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Tracing (OpenTelemetry)'));
    const table = section.slice(0, section.indexOf('\n## ', 1));
    const documented = [...table.matchAll(/^\|\s*`([A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(documented).toEqual(expect.arrayContaining(Object.keys(telemetryEnvSchema.shape)));
  });

  it('loads nothing when off, and the trace helpers then carry nothing', async () => {
    const off = await startTelemetry(telemetrySettings({}, 'x'));
    expect(off.enabled).toBe(false);
    await off.shutdown();
    expect(currentTraceparent()).toBeNull();
    // A context read back from storage passes through untouched, even with no SDK here.
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(currentTraceparent(contextFromTraceparent(tp))).toBe(tp);
    expect(currentTraceparent(contextFromTraceparent('00-zz-b7ad6b7169203331-01'))).toBeNull();
  });
});

/**
 * The compiled build as the image runs it (`node dist/main.js`), beside the production layout
 * (package.json, panel/, db/migrations), with this checkout's node_modules linked in.
 */
async function compiledBuild(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gamemod-otel-build-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(await compiledDist(), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'db', 'migrations'), join(dir, 'db', 'migrations'), { recursive: true });
  symlinkSync(join(ROOT, 'panel'), join(dir, 'panel'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

// Both ways the app starts: the hooks must be in place before pg and ioredis load under each.
describe.each([
  { start: 'tsx main.ts', prepare: async () => ({ cwd: ROOT, args: ['--import', 'tsx', 'main.ts'] }) },
  {
    start: 'node dist/main.js',
    prepare: async () => ({ cwd: await compiledBuild(), args: ['dist/main.js'] }),
  },
])('one trace from the API request to the webhook delivery ($start)', ({ prepare }) => {
  it('joins POST /v1/orgs/:orgId/tickets, its queries, the relay, the job and the webhook request, and flushes on SIGTERM', async () => {
    const { cwd, args } = await prepare();
    const otlp = await startOtlpReceiver();
    const target = await startWebhookTarget();
    cleanups.push(
      () => otlp.server.close(),
      () => target.server.close(),
    );
    const secretKey = randomSecretKey();
    const org = await makeOrg(db.app, 'Traced');
    const token = await withTenant(db.app, org.orgId, async (tx) => {
      await createSubscription(
        tx,
        { url: target.url, eventTypes: ['ticket.created'] },
        org.owner,
        createSecretBox(secretKey),
      );
      return (await createApiToken(tx, { name: 'traced', scopes: ['tickets:write'] }, { type: 'system' }))
        .plaintext;
    });

    const dataDir = mkdtempSync(join(tmpdir(), 'gamemod-otel-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    // A Redis database of its own: this process's BullMQ queues use the default prefix.
    const redisDb = await claimRedisDb(inject('services').redisUrl);
    cleanups.push(() => redisDb.release());
    const redisUrl = redisDb.url;
    const child: ChildProcess = spawn(process.execPath, args, {
      cwd,
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
        // Nothing is exported before the shutdown: what arrives was flushed by SIGTERM.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        // Nor when a batch fills up (the scheduled sweeps' spans on a slow machine).
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
    const res = await fetch(`${base}/v1/orgs/${org.orgId}/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'Stuck in the lobby' }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const ticketId = ((await res.json()) as { id: string }).id;

    await until(
      () => `the webhook delivery to succeed (output: ${out.slice(-2000)})`,
      async () => {
        const r = await db.admin.query(
          `select 1 from webhook_deliveries where org_id = $1 and status = 'succeeded'`,
          [org.orgId],
        );
        return r.rowCount ? true : undefined;
      },
    );
    expect(otlp.spans).toEqual([]);
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, out.slice(-3000)).toBe(0);

    // The request's server span is the root; everything it caused is in its trace.
    const server = otlp.spans.find(
      (e) =>
        e.span.kind === SPAN_KIND.SERVER && attr(e.span, 'http.request.method', 'http.method') === 'POST',
    )?.span;
    expect(server, `spans: ${otlp.spans.map((e) => e.span.name).join(', ')}`).toBeDefined();
    expect(server?.name).toBe('POST /v1/orgs/:orgId/tickets');
    const traceId = server?.traceId as string;
    const trace = otlp.spans.filter((e) => e.span.traceId === traceId);
    expect(new Set(trace.map((e) => e.service))).toEqual(new Set(['gamemod-api-workers']));
    const names = trace.map((e) => e.span.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'outbox.relay ticket.created',
        'job webhook.fanout',
        expect.stringMatching(/^pg/),
      ]),
    );
    const relay = trace.find((e) => e.span.name === 'outbox.relay ticket.created')?.span;
    const fanout = trace.find((e) => e.span.name === 'job webhook.fanout')?.span;
    expect(relay?.kind).toBe(SPAN_KIND.PRODUCER);
    expect(fanout?.kind).toBe(SPAN_KIND.CONSUMER);
    expect(fanout?.parentSpanId).toBe(relay?.spanId);
    // The webhook request is a client span under the job, and its traceparent names the trace.
    const hookPort = new URL(target.url).port;
    const delivery = trace.find(
      (e) =>
        e.span.kind === SPAN_KIND.CLIENT &&
        String(attr(e.span, 'url.full', 'http.url') ?? '').includes(`:${hookPort}/hook`),
    )?.span;
    expect(delivery, `trace: ${names.join(', ')}`).toBeDefined();
    expect(target.received[0]?.traceparent).toMatch(new RegExp(`^00-${traceId}-${delivery?.spanId}-01$`));
    // Connected: one root (the request), every other span's parent in the same trace.
    const ids = new Set(trace.map((e) => e.span.spanId));
    const roots = trace.filter((e) => !e.span.parentSpanId || !ids.has(e.span.parentSpanId));
    expect(roots.map((e) => e.span.spanId)).toEqual([server?.spanId]);
    let hop: OtlpSpan | undefined = delivery;
    const chain: string[] = [];
    while (hop) {
      chain.push(hop.name);
      hop = trace.find((e) => e.span.spanId === hop?.parentSpanId)?.span;
    }
    expect(chain).toEqual(expect.arrayContaining(['job webhook.fanout', 'outbox.relay ticket.created']));
    expect(chain.at(-1)).toBe(server?.name);

    // The event kept the request's context, and the request's log lines carry its trace id.
    const row = await db.admin.query(
      `select traceparent from outbox where org_id = $1 and aggregate_id = $2`,
      [org.orgId, ticketId],
    );
    expect(row.rows[0]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const logged = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { trace_id?: string; span_id?: string });
    expect(logged.some((l) => l.trace_id === traceId && /^[0-9a-f]{16}$/.test(l.span_id ?? ''))).toBe(true);
    // Compiling the project takes a minute or two on a busy machine: not a timing check.
  }, 400_000);
});
