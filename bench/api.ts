import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createApiToken } from '../db/api-tokens.js';
import { SYSTEM } from '../db/changes.js';
import { createOrganization } from '../db/organizations.js';
import type { Pool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { createUser } from '../db/users.js';
import { alternate, cannon, ROUNDS, ticketOpens, withApiStack } from './lib/api-rounds.js';
import type { Benchmark } from './lib/benchmark.js';
import { fmtMs, fmtTps, median, type RoundResult, runRound } from './lib/load.js';

const HEALTH_CONNECTIONS = 50;
const TICKET_CONNECTIONS = 16;
const ORGS = 16;
const HEALTH_TARGET = 0.8;
const TICKETS_TARGET = 0.8;
const P99_TARGET = 1.5;

const SUBJECT = 'Cannot log in after the patch';
const BODY = 'Since the last update the launcher says my session expired, every time I try to log in.';

interface Org {
  orgId: string;
  tokenId: string;
  token: string;
}

/** The server's CPU time so far (user + system), in microseconds. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: { cpu?: NodeJS.CpuUsage }) => {
      if (!m.cpu) return;
      child.off('message', onMessage);
      resolve(m.cpu.user + m.cpu.system);
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

/** A round that also records the server's CPU microseconds per request in `perRequest`. */
async function measured(
  child: ChildProcess,
  perRequest: number[],
  round: Promise<RoundResult> | (() => Promise<RoundResult>),
) {
  const before = await cpuOf(child);
  const r = await (typeof round === 'function' ? round() : round);
  perRequest.push(((await cpuOf(child)) - before) / r.ops);
  return r;
}

async function makeOrgs(pool: Pool): Promise<Org[]> {
  const orgs: Org[] = [];
  for (let i = 0; i < ORGS; i++) {
    const owner = await createUser(pool, { displayName: `Bench ${i}` });
    const org = await createOrganization(
      pool,
      { name: `Bench ${i}`, slug: `bench-api-${i}-${randomBytes(3).toString('hex')}`, ownerUserId: owner.id },
      SYSTEM,
    );
    const { token, plaintext } = await withTenant(pool, org.id, (tx) =>
      createApiToken(tx, { name: 'bench', scopes: ['tickets:write'] }, SYSTEM),
    );
    orgs.push({ orgId: org.id, tokenId: token.id, token: plaintext });
  }
  return orgs;
}

async function run(log: (msg: string) => void): Promise<void> {
  await withApiStack(log, TICKET_CONNECTIONS, async ({ pool, serveApp, serveBare }) => {
    const orgs = await makeOrgs(pool);
    const bare = await serveBare();
    const app = await serveApp();

    log(`GET /health: ${HEALTH_CONNECTIONS} connections, servers in their own processes, autocannon here`);
    const cpu = { bare: [] as number[], app: [] as number[] };
    const [bareMed, appMed] = await alternate(log, [
      {
        name: 'node:http  ',
        round: (s) =>
          measured(bare.child, cpu.bare, () =>
            cannon({ url: `http://127.0.0.1:${bare.port}/health`, connections: HEALTH_CONNECTIONS }, s),
          ),
      },
      {
        name: 'full API   ',
        round: (s) =>
          measured(app.child, cpu.app, () =>
            cannon({ url: `http://127.0.0.1:${app.port}/health`, connections: HEALTH_CONNECTIONS }, s),
          ),
      },
    ]);
    const healthRatio = (appMed as RoundResult).tps / (bareMed as RoundResult).tps;
    // The warm-up round is in the lists too; the median leaves it no weight.
    const cpuRatio = median(cpu.bare) / median(cpu.app);

    log(`ticket opens: ${TICKET_CONNECTIONS} connections over ${ORGS} orgs (one API token each)`);
    const body = JSON.stringify({ subject: SUBJECT, body: BODY });
    const [dbMed, apiMed] = await alternate(log, [
      {
        name: 'db/ openTicket          ',
        round: (s) =>
          runRound(TICKET_CONNECTIONS, s * 1000, (loop) => {
            const org = orgs[loop % ORGS] as Org;
            return withTenant(pool, org.orgId, (tx) =>
              openTicket(
                tx,
                { subject: SUBJECT, body: BODY, origin: 'api' },
                { type: 'token', id: org.tokenId },
              ),
            );
          }),
      },
      {
        name: 'POST /v1/.../tickets    ',
        // Each connection speaks for one org, as the db/ loops do.
        round: ticketOpens(`http://127.0.0.1:${app.port}`, TICKET_CONNECTIONS, orgs, body),
      },
    ]);
    const db = dbMed as RoundResult;
    const api = apiMed as RoundResult;
    const tpsRatio = api.tps / db.tps;
    const p99Ratio = api.p99Ms / db.p99Ms;

    log(`median of ${ROUNDS} rounds:`);
    log(
      `  GET /health  node:http ${fmtTps((bareMed as RoundResult).tps)}   full API ${fmtTps((appMed as RoundResult).tps)}`,
    );
    log(
      `  ratio ${healthRatio.toFixed(2)} (target ≥ ${HEALTH_TARGET}): ${healthRatio >= HEALTH_TARGET ? 'PASS' : 'FAIL'}`,
    );
    log(
      `  server CPU per request: node:http ${median(cpu.bare).toFixed(1)} µs, full API ${median(cpu.app).toFixed(1)} µs ` +
        `(the req/s a dedicated core would give: ratio ${cpuRatio.toFixed(2)}, for information)`,
    );
    log(`  tickets  db/ ${fmtTps(db.tps)} p50 ${fmtMs(db.p50Ms)} p99 ${fmtMs(db.p99Ms)}`);
    log(`           API ${fmtTps(api.tps)} p50 ${fmtMs(api.p50Ms)} p99 ${fmtMs(api.p99Ms)}`);
    log(
      `  ratio ${tpsRatio.toFixed(2)} (target ≥ ${TICKETS_TARGET}), p99 ×${p99Ratio.toFixed(2)} (target ≤ ${P99_TARGET}): ` +
        (tpsRatio >= TICKETS_TARGET && p99Ratio <= P99_TARGET ? 'PASS' : 'FAIL'),
    );
  });
}

export const api: Benchmark = {
  name: 'api',
  description: 'GET /health vs bare node:http, and POST /v1/orgs/:orgId/tickets vs db/ openTicket',
  run,
};
