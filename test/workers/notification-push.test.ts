import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, sessionRef } from '../../api/sessions.js';
import { addMember } from '../../db/memberships.js';
import { updatePrefs } from '../../db/notification-prefs.js';
import { upsertPlayer } from '../../db/players.js';
import { subscribePush } from '../../db/push-subscriptions.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { vapidKeys } from '../../db/vapid-keys.js';
import { notifyForEvent } from '../../workers/notifications.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, testDeps, uniquePrefix } from './support.js';

/**
 * Web Push from the workers to a loopback stand-in for a browser's push service: each POST is
 * checked as a push service would (VAPID JWT signed by the installation's key, for this origin)
 * and decrypted with the subscription's private key (RFC 8291), as the browser would.
 */
const db = useTestDb();
let env: ReturnType<typeof testDeps>;
const SUBJECT = 'mailto:ops@studio.example';

interface Push {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}
const received: Push[] = [];
/** The answer per path (default 201); a function of how many that path has had. */
const answers = new Map<string, (n: number) => number>();
let server: http.Server;
let origin: string;

beforeAll(async () => {
  env = testDeps(db.app, uniquePrefix());
  env.deps.webPush = { subject: SUBJECT };
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
      const status = answers.get(path)?.(received.filter((r) => r.path === path).length) ?? 201;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await env.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A browser's subscription: its own P-256 key pair and auth secret, at a path of the stand-in. */
function device(path: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    path,
    json: {
      endpoint: `${origin}${path}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    },
  };
}
type Device = ReturnType<typeof device>;

/** RFC 8291 / RFC 8188 (aes128gcm, one record), as the browser decrypts a push. */
function decrypt(d: Device, body: Buffer): unknown {
  const salt = body.subarray(0, 16);
  const idlen = body.readUInt8(20);
  const serverKey = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const secret = d.ecdh.computeSecret(serverKey);
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), d.ecdh.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, d.auth, info, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ]);
  // The last record ends with the delimiter 0x02 and zero padding.
  let end = padded.length - 1;
  while (end > 0 && padded[end] === 0) end--;
  expect(padded[end]).toBe(2);
  return JSON.parse(padded.subarray(0, end).toString('utf8'));
}

/** The VAPID Authorization header as a push service checks it (RFC 8292). */
async function checkVapid(p: Push) {
  const keys = await vapidKeys(db.app, box);
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(String(p.headers.authorization));
  expect(m, String(p.headers.authorization)).not.toBeNull();
  const [jwt, k] = [m![1] as string, m![2] as string];
  expect(k).toBe(keys.publicKey);
  const [h, c, s] = jwt.split('.') as [string, string, string];
  expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256' });
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const signed = verify(
    'sha256',
    Buffer.from(`${h}.${c}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  expect(signed).toBe(true);
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
  expect(claims.aud).toBe(origin);
  expect(claims.sub).toBe(SUBJECT);
  const now = Math.floor(Date.now() / 1000);
  expect(claims.exp).toBeGreaterThan(now);
  expect(claims.exp).toBeLessThanOrEqual(now + 24 * 3600);
  expect(p.headers['content-encoding']).toBe('aes128gcm');
  expect(Number(p.headers.ttl)).toBeGreaterThan(0);
}

let n = 0;
async function desk() {
  const o = await makeOrg(db.app, 'Push desk');
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, o.orgId, fn);
  const ana = (await createUser(db.app, { displayName: `Ana ${++n}` })).id;
  const cy = (await createUser(db.app, { displayName: `Cy ${n}` })).id;
  const { team, player } = await tx(async (t) => {
    await addMember(t, { userId: ana, role: 'agent' }, o.owner);
    await addMember(t, { userId: cy, role: 'agent' }, o.owner);
    const team = await createTeam(t, { name: 'Support' }, o.owner);
    for (const u of [ana, cy]) await addTeamMember(t, { teamId: team.id, userId: u }, o.owner);
    const player = await upsertPlayer(t, { displayName: 'Player', discordUserId: '323456789012345678' });
    return { team, player };
  });
  const subscribe = async (userId: string, path: string) => {
    const d = device(`/${o.orgId.slice(0, 8)}${path}`);
    await tx((t) => subscribePush(t, box, userId, d.json, { type: 'user', id: userId }));
    return d;
  };
  const lastOutbox = async () =>
    Number((await db.admin.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
  /** Runs the notification job for each event since `after`, twice (a replay), as the relay would. */
  const deliverSince = async (after: number, deps = env.deps) => {
    const rows = await db.admin.query<{ id: string }>(
      'select id from outbox where org_id = $1 and id > $2 order by id',
      [o.orgId, after],
    );
    const errors: unknown[] = [];
    for (const r of rows.rows)
      for (let i = 0; i < 2; i++)
        await notifyForEvent(deps, { orgId: o.orgId, outboxId: Number(r.id) }).catch((e) => errors.push(e));
    return errors;
  };
  const open = () =>
    tx((t) =>
      tickets.openTicket(
        t,
        {
          subject: 'Lost my sword',
          body: 'help',
          origin: 'discord',
          requesterId: player.id,
          teamId: team.id,
        },
        { type: 'player', id: player.id },
      ),
    ).then((r) => r.ticket);
  const assign = (ticketId: string, assigneeId: string) =>
    tx((t) => tickets.assign(t, { ticketId, assigneeId }, o.owner));
  const prefs = (userId: string, p: Parameters<typeof updatePrefs>[2]) =>
    tx((t) => updatePrefs(t, userId, p, { type: 'user', id: userId }));
  const pushesTo = (d: Device) => received.filter((r) => r.path === d.path);
  const deliveries = async (userId: string) =>
    (
      await db.admin.query<{ status: string; reason: string | null }>(
        `select d.status, d.reason from notification_deliveries d join notifications n on n.id = d.notification_id
         where n.user_id = $1 and d.channel = 'push' order by n.created_at`,
        [userId],
      )
    ).rows;
  return {
    ...o,
    ana,
    cy,
    team,
    tx,
    subscribe,
    lastOutbox,
    deliverSince,
    open,
    assign,
    prefs,
    pushesTo,
    deliveries,
  };
}

describe('Web Push', () => {
  it('sends one encrypted, VAPID-signed push per event and member, opening the ticket', async () => {
    const d = await desk();
    const anaPhone = await d.subscribe(d.ana, '/ana-phone');
    const cyLaptop = await d.subscribe(d.cy, '/cy-laptop');
    await d.prefs(d.ana, { events: { new_in_queue: { push: true } } });
    const start = await d.lastOutbox();
    const t = await d.open();
    await d.assign(t.id, d.ana);
    expect(await d.deliverSince(start)).toEqual([]);
    // Ana: the new ticket in her queue (turned on) and the assignment (on by default), once each
    // though every job ran twice. Cy: new_in_queue push is off by default, so nothing.
    const pushes = d.pushesTo(anaPhone);
    expect(pushes).toHaveLength(2);
    for (const p of pushes) await checkVapid(p);
    const payloads = pushes.map((p) => decrypt(anaPhone, p.body));
    expect(payloads).toEqual([
      {
        title: `New ticket #${t.number} in your team's queue`,
        body: 'Lost my sword',
        url: `/o/${d.orgId}/t/${t.id}`,
        tag: expect.any(String),
      },
      {
        title: `Ticket #${t.number} is yours`,
        body: 'Lost my sword',
        url: `/o/${d.orgId}/t/${t.id}`,
        tag: expect.any(String),
      },
    ]);
    expect(d.pushesTo(cyLaptop)).toEqual([]);
    expect((await d.deliveries(d.ana)).map((x) => x.status)).toEqual(['sent', 'sent']);
    // Another device's key cannot read it: the payload is encrypted to Ana's phone alone.
    expect(() => decrypt(cyLaptop, pushes[0]!.body)).toThrow();
  });

  it('sends none when the channel is off or in quiet hours', async () => {
    const d = await desk();
    const anaPhone = await d.subscribe(d.ana, '/ana-phone');
    const cyLaptop = await d.subscribe(d.cy, '/cy-laptop');
    await d.prefs(d.ana, { events: { assigned: { push: false } } });
    const now = env.deps.clock.now();
    const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
    await d.prefs(d.cy, {
      timeZone: 'UTC',
      quietStart: (minute + 1410) % 1440,
      quietEnd: (minute + 30) % 1440,
    });
    const start = await d.lastOutbox();
    const t1 = await d.open();
    await d.assign(t1.id, d.ana);
    const t2 = await d.open();
    await d.assign(t2.id, d.cy);
    expect(await d.deliverSince(start)).toEqual([]);
    expect(d.pushesTo(anaPhone)).toEqual([]);
    expect(d.pushesTo(cyLaptop)).toEqual([]);
    // Ana's push was off: no delivery at all; Cy's was on but quiet.
    expect(await d.deliveries(d.ana)).toEqual([]);
    expect(await d.deliveries(d.cy)).toEqual([{ status: 'skipped', reason: 'quiet hours' }]);
  });

  it('drops a device the push service says is gone (410), and stops planning push for it', async () => {
    const d = await desk();
    const old = await d.subscribe(d.ana, '/gone');
    answers.set(old.path, () => 410);
    const start = await d.lastOutbox();
    const t = await d.open();
    await d.assign(t.id, d.ana);
    expect(await d.deliverSince(start)).toEqual([]);
    expect(d.pushesTo(old)).toHaveLength(1);
    const left = await db.admin.query('select 1 from push_subscriptions where org_id = $1', [d.orgId]);
    expect(left.rowCount).toBe(0);
    expect(await d.deliveries(d.ana)).toEqual([{ status: 'skipped', reason: 'every device unsubscribed' }]);
    const again = await d.lastOutbox();
    await d.assign(t.id, d.cy);
    await d.assign(t.id, d.ana);
    await d.deliverSince(again);
    expect(d.pushesTo(old)).toHaveLength(1);
    expect(await d.deliveries(d.ana)).toHaveLength(1);
  });

  it('retries a 429 or 5xx with the job, sending only to the devices that did not take it', async () => {
    const d = await desk();
    const phone = await d.subscribe(d.ana, '/phone');
    const laptop = await d.subscribe(d.ana, '/laptop');
    answers.set(phone.path, (k) => (k === 1 ? 429 : 201));
    answers.set(laptop.path, () => 201);
    const start = await d.lastOutbox();
    const t = await d.open();
    await d.assign(t.id, d.ana);
    // deliverSince runs each job twice: the first failed on the phone's 429 (the job throws, so
    // BullMQ retries with its backoff), the second sent the phone its push and the laptop nothing.
    expect((await d.deliverSince(start)).map((e) => (e as Error).message)).toEqual([
      'push not delivered yet: HTTP 429',
    ]);
    expect(d.pushesTo(phone).map((p) => decrypt(phone, p.body))).toHaveLength(2);
    expect(d.pushesTo(laptop)).toHaveLength(1);
    expect(await d.deliveries(d.ana)).toEqual([{ status: 'sent', reason: null }]);
    // The failing attempt is what the queue sees.
    answers.set(phone.path, () => 503);
    answers.set(laptop.path, () => 201);
    const next = await d.lastOutbox();
    await d.assign(t.id, d.cy);
    await d.assign(t.id, d.ana);
    const errors = await d.deliverSince(next);
    expect(errors.map((e) => (e as Error).message)).toEqual([
      'push not delivered yet: HTTP 503',
      'push not delivered yet: HTTP 503',
    ]);
    expect(d.pushesTo(laptop)).toHaveLength(2);
    expect((await d.deliveries(d.ana)).at(-1)).toEqual({ status: 'pending', reason: null });
  });

  it('refuses endpoints on private addresses, and on loopback unless the guard allows it', async () => {
    const d = await desk();
    // The database takes any http(s) URL; the workers decide at connect time.
    const inside = device('/metadata');
    inside.json.endpoint = 'https://169.254.169.254/push/abc';
    await d.tx((t) => subscribePush(t, box, d.ana, inside.json, { type: 'user', id: d.ana }));
    const start = await d.lastOutbox();
    const t = await d.open();
    await d.assign(t.id, d.ana);
    expect(await d.deliverSince(start)).toEqual([]);
    expect(await d.deliveries(d.ana)).toEqual([
      { status: 'failed', reason: 'refused 169.254.169.254: private, link-local or reserved address' },
    ]);
    // Production's guard (no loopback): a name resolving to loopback is refused at connect time,
    // and the stand-in hears nothing.
    const e = await desk();
    const local = device('/local');
    const port = (server.address() as AddressInfo).port;
    local.json.endpoint = `https://localhost:${port}${local.path}`;
    await e.tx((t) => subscribePush(t, box, e.ana, local.json, { type: 'user', id: e.ana }));
    const from = await e.lastOutbox();
    const u = await e.open();
    await e.assign(u.id, e.ana);
    const strict = { ...env.deps, webhookTargets: { allowLoopback: false, allowPrivate: false } };
    expect(await e.deliverSince(from, strict)).toEqual([]);
    const [only] = await e.deliveries(e.ana);
    expect(only?.status).toBe('failed');
    expect(only?.reason).toMatch(/refused localhost .*loopback address/);
    expect(received.filter((r) => r.path === local.path)).toEqual([]);
  });
  it('ends with the sign-in session it was made in: a session that timed out takes its device with it', async () => {
    const d = await desk();
    await d.prefs(d.ana, { events: { new_in_queue: { push: true } } });
    // A session idle for one second is over, as the API reads it; its mark in Redis lapses with it.
    const times = { idleSeconds: 1, absoluteSeconds: 3600, now: Date.now };
    const { session } = await createSession(env.connection, d.ana, 'none', times);
    const laptop = device(`/${d.orgId.slice(0, 8)}/ana-shared-laptop`);
    await d.tx((t) =>
      subscribePush(t, box, d.ana, laptop.json, { type: 'user', id: d.ana }, sessionRef(session)),
    );
    const deps = { ...env.deps, sessionMarks: { redis: env.connection } };
    let after = await d.lastOutbox();
    await d.open();
    expect(await d.deliverSince(after, deps)).toEqual([]);
    expect(d.pushesTo(laptop)).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 1_500));
    after = await d.lastOutbox();
    await d.open();
    expect(await d.deliverSince(after, deps)).toEqual([]);
    expect(d.pushesTo(laptop), 'a push after the session timed out').toHaveLength(1);
    const left = await db.admin.query('select 1 from push_subscriptions where endpoint = $1', [
      laptop.json.endpoint,
    ]);
    expect(left.rowCount).toBe(0);
    const audit = await db.admin.query<{ data: { reason: string } }>(
      `select data from audit_logs where org_id = $1 and action = 'push_subscription.removed' order by id desc limit 1`,
      [d.orgId],
    );
    expect(audit.rows[0]?.data.reason).toBe('session_ended');
  });
});
