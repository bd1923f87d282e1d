import { randomBytes } from 'node:crypto';
import { createApiToken } from '../db/api-tokens.js';
import { SYSTEM } from '../db/changes.js';
import { clientForAuth, createOAuthClient } from '../db/oauth-clients.js';
import { issueClientCredentials } from '../db/oauth-tokens.js';
import { createOrganization } from '../db/organizations.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { createUser } from '../db/users.js';
import { alternate, cannon, ROUNDS, withApiStack } from './lib/api-rounds.js';
import type { Benchmark } from './lib/benchmark.js';
import { fmtMs, fmtTps, type RoundResult, runRound } from './lib/load.js';

const CONNECTIONS = 16;
/** An OAuth access token costs what an API token costs to check: both are hashed and cached. */
const BEARER_TARGET = 0.9;
/** The token endpoint over what issuing costs in the database alone, as for ticket opens. */
const TOKEN_TARGET = 0.8;
const TOKEN_P99_TARGET = 1.5;
/** The defaults (lib/config.ts): 15-minute access tokens. */
const LIFE = { accessSeconds: 900, refreshIdleSeconds: 14 * 86_400, refreshAbsoluteSeconds: 90 * 86_400 };

async function run(log: (msg: string) => void): Promise<void> {
  await withApiStack(log, CONNECTIONS, async ({ pool, serveApp }) => {
    const owner = await createUser(pool, { displayName: 'Bench OAuth' });
    const org = await createOrganization(
      pool,
      { name: 'Bench OAuth', slug: `bench-oauth-${randomBytes(3).toString('hex')}`, ownerUserId: owner.id },
      SYSTEM,
    );
    const { pat, client, secret } = await withTenant(pool, org.id, async (tx) => {
      const t = await createApiToken(tx, { name: 'bench', scopes: ['tickets:read'] }, SYSTEM);
      const c = await createOAuthClient(
        tx,
        { name: 'bench', kind: 'confidential', scopes: ['tickets:read'] },
        SYSTEM,
      );
      for (let i = 0; i < 20; i++)
        await openTicket(tx, { subject: `Bench ${i}`, body: 'A ticket to list.', origin: 'api' }, SYSTEM);
      return { pat: t.plaintext, client: c.client, secret: c.clientSecret as string };
    });
    const app = await serveApp();
    const base = `http://127.0.0.1:${app.port}`;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: secret,
    }).toString();
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
    const issued = await fetch(`${base}/v1/oauth/token`, {
      method: 'POST',
      headers: formHeaders,
      body: form,
    });
    if (issued.status !== 200)
      throw new Error(`token endpoint answered ${issued.status}: ${await issued.text()}`);
    const access = ((await issued.json()) as { access_token: string }).access_token;

    const list = `${base}/v1/orgs/${org.id}/tickets?limit=1`;
    log(`GET ${list.slice(base.length)}: ${CONNECTIONS} connections, an API token vs an OAuth access token`);
    const [patMed, oauthMed] = (await alternate(log, [
      {
        name: 'API token   ',
        round: (s) =>
          cannon({ url: list, connections: CONNECTIONS, headers: { authorization: `Bearer ${pat}` } }, s),
      },
      {
        name: 'OAuth token ',
        round: (s) =>
          cannon({ url: list, connections: CONNECTIONS, headers: { authorization: `Bearer ${access}` } }, s),
      },
    ])) as RoundResult[];

    log(`client_credentials: ${CONNECTIONS} connections, db/ issueClientCredentials vs POST /v1/oauth/token`);
    const [dbMed, tokenMed] = (await alternate(log, [
      {
        name: 'db/ issueClientCredentials',
        round: (s) =>
          runRound(CONNECTIONS, s * 1000, () =>
            withTenant(pool, org.id, async (tx) => {
              const c = await clientForAuth(tx, client.id);
              if (!c) throw new Error('the client is gone');
              const r = await issueClientCredentials(tx, c, [], Date.now(), LIFE);
              if (!r.ok) throw new Error(r.error);
            }),
          ),
      },
      {
        name: 'POST /v1/oauth/token      ',
        round: (s) =>
          cannon(
            {
              url: `${base}/v1/oauth/token`,
              method: 'POST',
              headers: formHeaders,
              body: form,
              connections: CONNECTIONS,
            },
            s,
          ),
      },
    ])) as RoundResult[];

    const p = patMed as RoundResult;
    const o = oauthMed as RoundResult;
    const d = dbMed as RoundResult;
    const t = tokenMed as RoundResult;
    const bearer = o.tps / p.tps;
    const token = t.tps / d.tps;
    const p99 = t.p99Ms / d.p99Ms;
    log(`median of ${ROUNDS} rounds:`);
    log(
      `  bearer  API token ${fmtTps(p.tps)} p99 ${fmtMs(p.p99Ms)}   OAuth ${fmtTps(o.tps)} p99 ${fmtMs(o.p99Ms)}`,
    );
    log(
      `  ratio ${bearer.toFixed(2)} (target ≥ ${BEARER_TARGET}): ${bearer >= BEARER_TARGET ? 'PASS' : 'FAIL'}`,
    );
    log(`  tokens  db/ ${fmtTps(d.tps)} p50 ${fmtMs(d.p50Ms)} p99 ${fmtMs(d.p99Ms)}`);
    log(`          API ${fmtTps(t.tps)} p50 ${fmtMs(t.p50Ms)} p99 ${fmtMs(t.p99Ms)}`);
    log(
      `  ratio ${token.toFixed(2)} (target ≥ ${TOKEN_TARGET}), p99 ×${p99.toFixed(2)} (target ≤ ${TOKEN_P99_TARGET}): ` +
        (token >= TOKEN_TARGET && p99 <= TOKEN_P99_TARGET ? 'PASS' : 'FAIL'),
    );
  });
}

export const oauth: Benchmark = {
  name: 'oauth',
  description:
    'OAuth bearer vs API token on GET tickets, and POST /v1/oauth/token vs db/ issueClientCredentials',
  run,
};
