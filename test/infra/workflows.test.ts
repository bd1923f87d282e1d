import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackAlerts, watch } from '../../infra/deploy/canary-gate.mjs';
import { infraDir, root } from './support.js';
import {
  deployAfterTests,
  migrateBeforeTraffic,
  parseWorkflow,
  rollbackPresent,
  runsTests,
  schemaErrors,
} from './workflow-rules.js';

/**
 * The pipelines in .github/workflows: valid by the workflow schema, and a deploy that keeps its
 * order (tests, then migration, then a canary watched by the alerts, with a way back). The canary
 * gate itself runs against a loopback stand-in for Cloud Monitoring's Prometheus API.
 */

const dir = join(root, '.github', 'workflows');
const read = (f: string) => readFileSync(join(dir, f), 'utf8');
const ci = parseWorkflow(read('ci.yml'));
const deploy = parseWorkflow(read('deploy.yml'));

describe('.github/workflows', () => {
  it('every workflow validates against the workflow schema', () => {
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'deploy.yml']));
    for (const f of files) expect(schemaErrors(read(f)), f).toEqual([]);
  });

  it('the validator rejects a broken workflow', () => {
    const errors = schemaErrors(
      'on: push\njobs:\n  build:\n    runs-onn: ubuntu-24.04\n    steps:\n      - run: true\n',
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/runs-onn/);
  });

  it('CI lints, typechecks, analyses the code and runs the tests', () => {
    const all = Object.values(ci.jobs).flatMap((j) => j.steps ?? []);
    const commands = all.map((s) => s.run ?? '').join('\n');
    expect(commands).toMatch(/npm run lint/);
    expect(commands).toMatch(/npm run typecheck/);
    expect(all.some((s) => s.uses?.startsWith('github/codeql-action/analyze'))).toBe(true);
    expect(runsTests(ci)).toBe(true);
  });

  it('the deploy keeps its order', () => {
    expect(deployAfterTests(deploy, runsTests(ci))).toEqual([]);
    expect(migrateBeforeTraffic(deploy)).toEqual([]);
    expect(rollbackPresent(deploy)).toEqual([]);
  });
});

describe('the deploy rules fail on what they forbid', () => {
  const wf = (yaml: string) => parseWorkflow(yaml);

  it('a deploy that does not wait for the tests', () => {
    const bad = wf(`
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - run: npm test
  lint:
    runs-on: ubuntu-24.04
    steps:
      - run: npm run lint
  ship:
    needs: [lint]
    runs-on: ubuntu-24.04
    steps:
      - run: gcloud run deploy api --image x
`);
    expect(deployAfterTests(bad, true)).toEqual([
      'deploys on pull_request',
      'job ship deploys without needing a job that ran the tests',
    ]);
    // Through a called CI workflow, it counts only if that workflow runs the tests.
    const called = wf(`
on: push
jobs:
  ci:
    uses: ./.github/workflows/ci.yml
  ship:
    needs: ci
    runs-on: ubuntu-24.04
    steps:
      - run: gcloud run deploy api --image x
`);
    expect(deployAfterTests(called, true)).toEqual([]);
    expect(deployAfterTests(called, false)).toEqual([
      'job ship deploys without needing a job that ran the tests',
    ]);
  });

  it('traffic that moves before the migration has run', () => {
    const bad = wf(`
on: push
jobs:
  migrate:
    runs-on: ubuntu-24.04
    steps:
      - run: gcloud run jobs execute gamemod-migrate --region r
  ship:
    runs-on: ubuntu-24.04
    steps:
      - name: deploy
        run: gcloud run deploy gamemod-api --image x
      - name: migrate again
        run: gcloud run jobs execute gamemod-migrate --wait
`);
    expect(migrateBeforeTraffic(bad)).toEqual([
      'job migrate: the migration is started without --wait',
      'job ship: "deploy" moves traffic before the migration has run',
    ]);
    expect(
      migrateBeforeTraffic(
        wf('on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: gcloud run deploy a\n'),
      ),
    ).toEqual(['no step runs the migration job']);
  });

  it('a rollout without a canary, a watch or a way back', () => {
    const bad = wf(`
on: push
jobs:
  ship:
    runs-on: ubuntu-24.04
    steps:
      - run: gcloud run deploy gamemod-api --image x
      - run: gcloud run services update-traffic gamemod-api --to-latest
      - name: roll back
        run: gcloud run services update-traffic gamemod-api --to-revisions old=100
`);
    expect(rollbackPresent(bad)).toEqual([
      'no revision is deployed without traffic first',
      'no canary share of traffic',
      'job ship: no alert watch after traffic moves',
      'job ship: no rollback step (if: failure(), update-traffic --to-revisions) after the watch',
    ]);
  });
});

describe('the canary gate (infra/deploy/canary-gate.mjs)', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  let firing: (query: string, call: number) => boolean = () => false;
  let failWith: number | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const ok =
          req.method === 'POST' &&
          req.url === '/v1/projects/p-1/location/global/prometheus/api/v1/query' &&
          req.headers.authorization === 'Bearer t0ken';
        if (!ok || failWith) {
          res.writeHead(failWith ?? 403).end('no');
          return;
        }
        const query = new URLSearchParams(body).get('query') ?? '';
        seen.push(query);
        const result = firing(query, seen.length) ? [{ metric: {}, value: [0, '1'] }] : [];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const watchFor = (alerts = rollbackAlerts()) =>
    watch({ base, project: 'p-1', token: 't0ken', checks: 3, intervalMs: 10, alerts });

  it('passes a healthy canary after checking every rollback condition each round', async () => {
    firing = () => false;
    failWith = undefined;
    seen.length = 0;
    const alerts = rollbackAlerts();
    expect(alerts.map((a) => a.id)).toEqual(
      expect.arrayContaining([
        'http-5xx-rate',
        'http-p99-latency',
        'queue-age',
        'shard-disconnects',
        'outbox-lag',
      ]),
    );
    expect(await watchFor(alerts)).toBeNull();
    expect(seen.length).toBe(alerts.length * 3);
    expect(seen).toContain(
      'sum(rate(gamemod_http_request_duration_seconds_count{status=~"5.."}[5m])) / sum(rate(gamemod_http_request_duration_seconds_count[5m])) > 0.02',
    );
    expect(seen.every((q) => !q.includes('{{threshold}}'))).toBe(true);
  });

  it('stops at the first condition that holds, and refuses to pass when it cannot check', async () => {
    failWith = undefined;
    seen.length = 0;
    firing = (q, call) => call > 8 && q.includes('gamemod_outbox_unrelayed');
    expect((await watchFor())?.id).toBe('outbox-backlog');
    failWith = 500;
    await expect(watchFor()).rejects.toThrow(/the monitoring API answered 500/);
    failWith = undefined;
    expect(rollbackAlerts({ 'http-5xx-rate': 0.25 }).find((a) => a.id === 'http-5xx-rate')?.query).toMatch(
      /> 0\.25$/,
    );
  });

  it('as a command: exits 1 naming the alert, for the workflow to roll back', async () => {
    failWith = undefined;
    seen.length = 0;
    firing = (q) => q.includes('status=~"5.."');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          join(infraDir, 'deploy', 'canary-gate.mjs'),
          '--project',
          'p-1',
          '--minutes',
          '0.001',
          '--interval-seconds',
          '0.02',
        ],
        { env: { PATH: process.env.PATH, ACCESS_TOKEN: 't0ken', MONITORING_URL: base }, timeout: 20_000 },
        (err, _stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      );
    });
    expect(r.stderr).toMatch(/^rollback: http-5xx-rate holds/);
    expect(r.code).toBe(1);
  });
});
