#!/usr/bin/env node
// @ts-check
/**
 * The deploy workflow's canary gate. While a new revision takes its share of traffic, it evaluates
 * the alert conditions marked `rollback` in infra/alerts.json (the same PromQL the alert policies
 * run) against Cloud Monitoring's Prometheus API, once per interval. The first condition that
 * holds ends the watch with exit code 1 and its name, and the workflow rolls back; when the
 * window passes with none holding, it exits 0.
 *
 *   ACCESS_TOKEN=$(gcloud auth print-access-token) node infra/deploy/canary-gate.mjs \
 *     --project my-project [--minutes 10] [--interval-seconds 60]
 *
 * MONITORING_URL replaces https://monitoring.googleapis.com (tests point it at a loopback fake).
 * ALERT_THRESHOLDS (JSON, by alert id) overrides thresholds as the Terraform variable does.
 * No dependencies: it runs on a bare runner with Node alone.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * @typedef {{ id: string, title: string, query: string, threshold: number, rollback: boolean }} Alert
 */

/** The rollback conditions, thresholds filled in. @returns {Alert[]} */
export function rollbackAlerts(overrides = /** @type {Record<string, number>} */ ({})) {
  const file = JSON.parse(readFileSync(join(here, '..', 'alerts.json'), 'utf8'));
  return /** @type {Alert[]} */ (file.alerts)
    .filter((a) => a.rollback)
    .map((a) => ({
      ...a,
      query: a.query.replaceAll('{{threshold}}', String(overrides[a.id] ?? a.threshold)),
    }));
}

/**
 * One instant query. A condition holds when the result has any series (PromQL comparisons drop
 * the series that don't match). An API error is not a pass: the gate can't vouch for the canary.
 * @param {{ base: string, project: string, token: string }} o
 * @param {string} query
 */
async function holds(o, query) {
  const url = `${o.base}/v1/projects/${encodeURIComponent(o.project)}/location/global/prometheus/api/v1/query`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok)
    throw new Error(`the monitoring API answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const body = await res.json();
  if (body.status !== 'success') throw new Error(`the query failed: ${JSON.stringify(body).slice(0, 300)}`);
  return Array.isArray(body.data?.result) && body.data.result.length > 0;
}

/**
 * Watches for `checks` rounds, `intervalMs` apart. Resolves to the alert that held, or null.
 * @param {{ base: string, project: string, token: string, checks: number, intervalMs: number,
 *   alerts: Alert[], log?: (line: string) => void }} o
 */
export async function watch(o) {
  const log = o.log ?? (() => {});
  for (let round = 1; round <= o.checks; round++) {
    for (const alert of o.alerts) {
      if (await holds(o, alert.query)) return alert;
    }
    log(`check ${round}/${o.checks}: no rollback condition holds`);
    if (round < o.checks) await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  return null;
}

async function main() {
  const { values } = parseArgs({
    options: {
      project: { type: 'string' },
      minutes: { type: 'string', default: '10' },
      'interval-seconds': { type: 'string', default: '60' },
    },
  });
  const token = process.env.ACCESS_TOKEN;
  if (!values.project || !token) {
    console.error(
      'usage: ACCESS_TOKEN=... canary-gate.mjs --project <id> [--minutes N] [--interval-seconds N]',
    );
    process.exit(2);
  }
  const intervalMs = Number(values['interval-seconds']) * 1000;
  const checks = Math.max(1, Math.round((Number(values.minutes) * 60_000) / intervalMs));
  const alerts = rollbackAlerts(JSON.parse(process.env.ALERT_THRESHOLDS || '{}'));
  const base = process.env.MONITORING_URL || 'https://monitoring.googleapis.com';
  try {
    const fired = await watch({
      base,
      project: values.project,
      token,
      checks,
      intervalMs,
      alerts,
      log: console.log,
    });
    if (fired) {
      console.error(`rollback: ${fired.id} holds (${fired.title})`);
      process.exit(1);
    }
    console.log(`canary healthy: ${alerts.length} conditions clear for ${checks} checks`);
  } catch (err) {
    console.error(
      `rollback: the gate could not check the canary: ${err instanceof Error ? err.message : err}`,
    );
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
