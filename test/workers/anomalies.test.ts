import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listAnomalies } from '../../db/analytics-anomalies.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import * as webhooks from '../../db/webhooks.js';
import { foldAnalytics } from '../../workers/analytics.js';
import {
  ANOMALY_DEFAULTS,
  type DetectorSettings,
  foldHour,
  isNewSpike,
  threshold,
} from '../../workers/anomalies.js';
import { systemClock } from '../../workers/clock.js';
import { alertText } from '../../workers/discord-delivery.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../workers/runtime.js';
import { useTestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { box, logger, loopbackOnly, startReceiver, testDeps, uniquePrefix, until } from './support.js';

/** A seeded generator (mulberry32), so a failing stream can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson draw (Knuth's method; the means here are small enough). */
function poisson(mean: number, random: () => number) {
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(random)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > l);
  return k - 1;
}
const gauss = (random: () => number) =>
  Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());

/**
 * Hourly ticket counts with a day/night cycle: `mean` on average, twice as busy in the evening
 * as at night, each hour a Poisson draw.
 */
function traffic(hours: number, mean: number, random: () => number): number[] {
  return Array.from({ length: hours }, (_, h) =>
    poisson(mean * (1 + 0.5 * Math.sin(((h % 24) / 24) * 2 * Math.PI)), random),
  );
}

/**
 * The detector over a stream as the fold job runs it: each hour's tickets arrive in ten parts,
 * the hour in progress is checked after each, and the finished hour is folded in. Returns the
 * hours that alerted.
 */
function run(stream: number[], cfg: DetectorSettings = ANOMALY_DEFAULTS): number[] {
  let s = { mean: 0, variance: 0, hours: 0, spikeSince: null as Date | null };
  const alerts: number[] = [];
  stream.forEach((count, h) => {
    for (let part = 1; part <= 10; part++) {
      if (isNewSpike(s, Math.floor((count * part) / 10), cfg)) {
        alerts.push(h);
        s = { ...s, spikeSince: new Date(h * 3_600_000) };
      }
    }
    s = foldHour(s, count, cfg);
  });
  return alerts;
}

describe('anomaly detection over generated streams', () => {
  it('never alerts on steady traffic with its daily cycle and noise (many seeds, a month each)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = rng(seed);
      for (const mean of [8, 30, 120, 500])
        expect(run(traffic(24 * 30, mean, random)), `seed ${seed}, mean ${mean}`).toEqual([]);
    }
  });

  it('alerts exactly once for a spike, however many checks and hours it lasts', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = rng(seed);
      const stream = traffic(24 * 10, 30, random);
      const oneHour = [...stream];
      oneHour[200] = 200;
      expect(run(oneHour), `seed ${seed}`).toEqual([200]);
      // Three hours at five times the usual level: still one alert, at its start.
      const long = [...stream];
      for (const h of [200, 201, 202]) long[h] = 150 + poisson(10, random);
      expect(run(long), `seed ${seed}`).toEqual([200]);
    }
  });

  it('alerts again for a second spike once the first is over', () => {
    const stream = traffic(24 * 10, 30, rng(7));
    stream[150] = 200;
    stream[200] = 200;
    expect(run(stream)).toEqual([150, 200]);
  });

  it('never pages a small organization: bursts under the minimum count stay quiet', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const stream = traffic(24 * 20, 0.5, rng(seed));
      // Fifteen tickets in one hour is thirty times the usual, and still under the minimum.
      stream[300] = ANOMALY_DEFAULTS.minCount - 5;
      stream[400] = ANOMALY_DEFAULTS.minCount - 1;
      expect(run(stream), `seed ${seed}`).toEqual([]);
    }
    // The minimum is what holds it back: with a lower one the same burst alerts.
    const stream = traffic(24 * 20, 0.5, rng(3));
    stream[300] = 15;
    expect(run(stream, { ...ANOMALY_DEFAULTS, minCount: 5 })).toContain(300);
  });

  it('needs a day of baseline before anything alerts', () => {
    expect(run([2, 2, 2, 500, 2])).toEqual([]);
    expect(threshold({ mean: 0, variance: 0, hours: 0, spikeSince: null }, ANOMALY_DEFAULTS)).toBe(
      ANOMALY_DEFAULTS.minCount,
    );
  });
});

/** Standard Webhooks v1 verification, written from the specification. */
function verified(secret: string, headers: Record<string, string | string[] | undefined>, body: string) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`)
    .digest();
  return String(headers['webhook-signature'])
    .split(' ')
    .some((part) => {
      const [version, sig] = part.split(',');
      const got = Buffer.from(sig ?? '', 'base64');
      return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
}

describe('anomaly alerts from the analytics fold', () => {
  const db = useTestDb();
  let fake: FakeDiscord;
  let runtime: WorkerRuntime;
  let env: ReturnType<typeof testDeps>;
  beforeAll(async () => {
    fake = await startFakeDiscord();
    env = testDeps(db.app, uniquePrefix(), { clock: systemClock });
    runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      box,
      webhookTargets: loopbackOnly,
      prefix: uniquePrefix(),
      schedulers: false,
      relay: { pollMs: 100 },
      discord: { token: fake.botToken, apiUrl: `${fake.url}/api` },
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await env?.close();
    await fake?.close();
  });

  /** `n` tickets opened in one transaction, then moved `hoursAgo` back (spread over that hour). */
  async function tickets(org: OrgFixture, n: number, hoursAgo = 0) {
    const ids = await withTenant(db.app, org.orgId, async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++)
        out.push((await openTicket(tx, { subject: `Ticket ${i}`, origin: 'game' }, org.owner)).ticket.id);
      return out;
    });
    if (hoursAgo > 0)
      await db.admin.query(
        `update tickets set created_at = date_trunc('hour', now()) - make_interval(hours => $2::int)
                                         + make_interval(mins => (random() * 59)::int)
          where id = any($1::uuid[])`,
        [ids, hoursAgo],
      );
  }
  const anomalies = (orgId: string) => withTenant(db.app, orgId, (tx) => listAnomalies(tx));

  it('alerts once for a spike: one anomaly, one signed webhook, one Discord post; steady hours raise none', async () => {
    const org = await makeOrg(db.app, 'Spiky');
    const guild = fake.addGuild({ name: 'Spiky', channels: [{ name: 'alerts' }] });
    const alerts = guild.channels.alerts as string;
    await withTenant(db.app, org.orgId, (tx) =>
      tx.query(`insert into discord_guilds (org_id, guild_id, name, settings) values ($1, $2, 'Spiky', $3)`, [
        tx.orgId,
        guild.id,
        JSON.stringify({ alertChannelId: alerts }),
      ]),
    );
    const receiver = await startReceiver();
    const { secret } = await withTenant(db.app, org.orgId, (tx) =>
      webhooks.createSubscription(
        tx,
        { url: receiver.url, eventTypes: ['anomaly.detected'] },
        org.owner,
        box,
      ),
    );
    try {
      // Two days of steady traffic, three tickets an hour, then the fold: no alert.
      for (let h = 48; h >= 1; h--) await tickets(org, 3, h);
      await tickets(org, 2);
      await foldAnalytics(env.deps);
      expect(await anomalies(org.orgId)).toEqual([]);

      // Forty tickets in the hour in progress: a spike.
      await tickets(org, 40);
      await foldAnalytics(env.deps);
      const [spike, ...more] = await anomalies(org.orgId);
      expect(more).toEqual([]);
      expect(spike).toMatchObject({ metric: 'tickets_opened', observed: 42 });
      expect(spike?.baseline).toBeGreaterThan(2);
      expect(spike?.baseline).toBeLessThan(4);

      // The spike goes on, folded again and again: still the one alert.
      await tickets(org, 10);
      await foldAnalytics(env.deps);
      await tickets(org, 1);
      await foldAnalytics(env.deps);
      expect(await anomalies(org.orgId)).toHaveLength(1);
      const events = await db.admin.query(
        `select payload from outbox where org_id = $1 and event_type = 'anomaly.detected'`,
        [org.orgId],
      );
      expect(events.rows).toHaveLength(1);

      // Delivered as a signed webhook...
      await until(async () => receiver.requests.length >= 1);
      const hook = receiver.requests[0] as (typeof receiver.requests)[number];
      expect(verified(secret, hook.headers, hook.body)).toBe(true);
      expect(
        verified(`whsec_${Buffer.from('not the secret').toString('base64')}`, hook.headers, hook.body),
      ).toBe(false);
      const body = JSON.parse(hook.body);
      expect(body).toMatchObject({
        type: 'anomaly.detected',
        data: { anomaly: { id: spike?.id, metric: 'tickets_opened', observed: 42 } },
      });
      // ...and posted once to the guild's alert channel.
      const posts = () =>
        fake
          .requests({ method: 'POST', path: `/api/v10/channels/${alerts}/messages` })
          .filter((r) => r.status === 200);
      await until(async () => posts().length >= 1);
      expect((posts()[0]?.body as { content?: string } | undefined)?.content).toMatch(
        /Ticket spike: 42 tickets opened since <t:\d+:t>/,
      );
      // The relay has passed the later events by now; nothing more went out.
      await until(async () => {
        const r = await db.admin.query(
          `select count(*)::int as n from outbox where org_id = $1 and relayed_at is null`,
          [org.orgId],
        );
        return r.rows[0]?.n === 0;
      });
      expect(receiver.requests).toHaveLength(1);
      expect(posts()).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('never alerts for a small organization below the minimum count', async () => {
    const org = await makeOrg(db.app, 'Tiny');
    for (let h = 30; h >= 1; h -= 3) await tickets(org, 1, h);
    await foldAnalytics(env.deps);
    // Twelve tickets this hour against about one every three hours: far above the baseline,
    // under the minimum count.
    await tickets(org, ANOMALY_DEFAULTS.minCount - 8);
    await foldAnalytics(env.deps);
    expect(await anomalies(org.orgId)).toEqual([]);
  });

  it('says what the spike was in the Discord alert', () => {
    expect(
      alertText('anomaly.detected', {
        anomaly: { observed: 42, baseline: 3.1, threshold: 20, hourStart: '2026-12-05T08:00:00.000Z' },
      }),
    ).toBe(
      '📈 Ticket spike: 42 tickets opened since <t:1796457600:t>, against about 3.1 an hour usually (the alert starts at 20).',
    );
  });
});
