import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { type SdkWorld, sdkCall, sdkWorld } from './sdk-support.js';
import { expectError } from './settings-support.js';
import { startTestApi, type TestApi } from './support.js';

/**
 * Who can spend whose rate limit. A client key is public (it ships in the game) and may name any
 * player, so nobody holding it may use up another player's bucket; and behind a proxy the client
 * address comes from the hop the proxy saw, never from what the client wrote in X-Forwarded-For.
 */
const db = useTestDb();
let w: SdkWorld;
let api: TestApi;

beforeAll(async () => {
  w = await sdkWorld(db, 'SdkLimits');
  // One proxy in front (TRUST_PROXY=1): the address is the last X-Forwarded-For entry, the one
  // the proxy appended.
  api = await startTestApi(db.app, {
    settings: { trustProxy: 1 },
    sdkRateLimits: {
      key: { burst: 1000, perMinute: 60 },
      player: { burst: 2, perMinute: 1 },
      address: { burst: 4, perMinute: 1 },
    },
  });
});
afterAll(() => api.close());

// Rate-limit buckets live in the Redis every test file shares: an address of this run's own.
const address = () => `2001:db8::${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
const from = (client: string, written = '') => ({
  'x-forwarded-for': written ? `${written}, ${client}` : client,
});
const report = (reporterId: string) => ({
  reporter: { id: reporterId, name: 'Reporter' },
  reported: { id: 'steam:9999', name: 'Cheater' },
  reason: 'cheating',
  message: 'wallhack',
});

describe('/sdk/v1 rate limits against a key holder aiming at someone else', () => {
  it('spends nobody’s player bucket on a request that fails validation', async () => {
    const attacker = address();
    for (let i = 0; i < 3; i++) {
      const junk = await sdkCall(
        api,
        w.clientKey,
        'POST',
        '/reports',
        { reporter: { id: 'victim:1', name: 'V' }, junk: true },
        from(attacker),
      );
      expectError(junk, 422, 'validation_failed');
    }
    const real = await sdkCall(api, w.clientKey, 'POST', '/reports', report('victim:1'), from(address()));
    expect(real.statusCode, real.body).toBe(201);
  });

  it('keeps a player’s bucket per client address for client keys', async () => {
    const attacker = address();
    const list = (who: string) =>
      sdkCall(api, w.clientKey, 'GET', '/tickets?playerId=victim%3A2', undefined, from(who));
    expect((await list(attacker)).statusCode).toBe(200);
    expect((await list(attacker)).statusCode).toBe(200);
    const spent = await list(attacker);
    expectError(spent, 429, 'rate_limited');
    expect(spent.json().error.details.scope).toBe('player');
    // The victim, from their own address, is not locked out by someone else naming them.
    expect((await list(address())).statusCode).toBe(200);
  });

  it('takes the client address from the proxy’s hop, not from what the client wrote', async () => {
    const client = address();
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await sdkCall(
        api,
        w.clientKey,
        'GET',
        `/tickets?playerId=spoof%3A${i}`,
        undefined,
        from(client, `10.0.0.${i}`),
      );
      answers.push(res.statusCode);
    }
    expect(answers).toEqual([200, 200, 200, 200, 429]);
  });
});
