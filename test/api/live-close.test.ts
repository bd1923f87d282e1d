import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { startTestApi, type TestApi } from './support.js';

/**
 * Shutting the API down while panels hold WebSockets open: `app.close()` must finish promptly and
 * tell each socket why it ends (1001 going away), whatever state the socket is in — subscribed,
 * half-way through its upgrade, or held by a peer that stopped answering.
 */
const db = useTestDb();
const ORIGIN = 'http://127.0.0.1:3000';
const CLOSE_WITHIN_MS = 3000;
let api: TestApi | undefined;
const rawSockets: Socket[] = [];

afterEach(async () => {
  for (const s of rawSockets.splice(0)) s.destroy();
  // A test that failed before closing still frees its app (bounded: a hang is what is tested).
  if (api) await within(api.close(), 10_000).catch(() => {});
  api = undefined;
});

async function within<T>(p: Promise<T>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms);
  });
  try {
    return await Promise.race([p.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function listening(): Promise<{ api: TestApi; port: number }> {
  const a = await startTestApi(db.app);
  await a.app.listen({ host: '127.0.0.1', port: 0 });
  api = a;
  return { api: a, port: (a.app.server.address() as AddressInfo).port };
}

/** Opens a socket with a session, subscribes to the org's inbox and resolves once subscribed. */
async function subscribed(port: number, cookie: string, orgId: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
    headers: { cookie: `gm_session=${cookie}`, origin: ORIGIN },
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const subscribedMsg = new Promise<void>((resolve) =>
    ws.on('message', (m) => {
      if (JSON.parse(String(m)).type === 'subscribed') resolve();
    }),
  );
  ws.send(JSON.stringify({ type: 'subscribe', orgId }));
  await subscribedMsg;
  return { ws, closed };
}

/** Upgrades over a raw TCP socket that then never reads or answers anything: a peer that is gone. */
async function silentPeer(port: number, cookie: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  rawSockets.push(socket);
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(
    [
      'GET /v1/live HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      `Origin: ${ORIGIN}`,
      `Cookie: gm_session=${cookie}`,
      '',
      '',
    ].join('\r\n'),
  );
  const head = await new Promise<string>((r) => socket.once('data', (d) => r(String(d))));
  expect(head).toMatch(/^HTTP\/1.1 101/);
  // Stop reading: the close frame is never answered, as from a peer whose network went away.
  socket.pause();
  return socket;
}

/** Sends a WebSocket upgrade request for `path` over raw TCP and resolves with the HTTP answer. */
async function upgradeTo(port: number, path: string): Promise<{ socket: Socket; head: string }> {
  const socket = connect(port, '127.0.0.1');
  rawSockets.push(socket);
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      '',
      '',
    ].join('\r\n'),
  );
  const head = await new Promise<string>((r) => socket.once('data', (d) => r(String(d))));
  return { socket, head };
}

describe('upgrade requests that do not become a live socket', () => {
  it('get their answer and then their connection closed by the server', async () => {
    const { port } = await listening();
    for (const path of ['/', '/health', '/v1/nothing-here']) {
      const { socket, head } = await upgradeTo(port, path);
      expect(head, path).toMatch(/^HTTP\/1.1 [2-5]\d\d /);
      expect(head, path).not.toMatch(/^HTTP\/1.1 101/);
      const ended = new Promise<void>((r) => socket.once('close', () => r()));
      // Node leaves an upgrade request's socket to whoever handles the upgrade: answered over
      // HTTP instead, nobody closed it, and the server held it open for ever.
      expect(await within(ended, 2000), path).toBe('done');
    }
  });

  it('do not hold app.close() when the client went away half-way (the panel benchmark hang)', async () => {
    const { api: a, port } = await listening();
    const { socket } = await upgradeTo(port, '/v1/nothing-here');
    // A browser that is gone: its side is closed (FIN), the server's side was left open.
    socket.end();
    expect(await within(a.app.close(), CLOSE_WITHIN_MS)).toBe('done');
  });
});

describe('closing the API with live sockets open', () => {
  it('finishes promptly and sends every subscribed socket 1001 going away', async () => {
    const { api: a, port } = await listening();
    const org = await makeOrg(db.app, 'Closing');
    const owner = await a.sessionFor(org.ownerId);
    const clients = await Promise.all(
      [1, 2, 3, 4].map(() => subscribed(port, owner.cookie as string, org.orgId)),
    );
    const started = Date.now();
    expect(await within(a.app.close(), CLOSE_WITHIN_MS)).toBe('done');
    const closes = await Promise.all(clients.map((c) => c.closed));
    for (const c of closes) expect(c.code).toBe(1001);
    expect(Date.now() - started).toBeLessThan(CLOSE_WITHIN_MS);
  });

  it('finishes promptly when a peer never answers the close frame', async () => {
    const { api: a, port } = await listening();
    const org = await makeOrg(db.app, 'Silent');
    const owner = await a.sessionFor(org.ownerId);
    const answering = await subscribed(port, owner.cookie as string, org.orgId);
    const silent = await silentPeer(port, owner.cookie as string);
    const gone = new Promise<void>((r) => silent.once('close', () => r()));
    expect(await within(a.app.close(), CLOSE_WITHIN_MS)).toBe('done');
    expect((await answering.closed).code).toBe(1001);
    // The server has cut the connection: reading again finds its end.
    silent.resume();
    expect(await within(gone, 1000)).toBe('done');
  });

  it('finishes promptly when a socket is still being upgraded (auth pending) as it closes', async () => {
    const { api: a, port } = await listening();
    const org = await makeOrg(db.app, 'Upgrading');
    const owner = await a.sessionFor(org.ownerId);
    // Start an upgrade and close at once: the request is still in its hooks (session look-up).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
      headers: { cookie: `gm_session=${owner.cookie}`, origin: ORIGIN },
    });
    ws.on('error', () => {});
    const ended = new Promise<void>((r) => ws.once('close', () => r()));
    await new Promise<void>((r) => setImmediate(r));
    expect(await within(a.app.close(), CLOSE_WITHIN_MS)).toBe('done');
    expect(await within(ended, 2000)).toBe('done');
  });
});
