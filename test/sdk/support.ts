import { execFile, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordAttachment } from '../../db/attachments.js';
import { openGameTicket } from '../../db/player-tickets.js';
import { withTenant } from '../../db/tenant.js';
import { reply } from '../../db/tickets.js';
import { newSdkGame, type SdkGame, type SdkWorld, sdkWorld } from '../api/sdk-support.js';
import { startTestApi, type TestApi } from '../api/support.js';
import type { TestDb } from '../support/db.js';

/** Fails (never skips) when a program the SDK tests run is missing, naming the Debian package. */
export function requireTools(tools: Array<[command: string, debianPackage: string]>) {
  const missing = tools.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.map(([c]) => c).join(', ')}: apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`,
    );
  }
}

/** Fails when a file the SDK tests need is missing, naming the Debian package that has it. */
export function requireFile(path: string, debianPackage: string) {
  if (spawnSync('test', ['-e', path]).status !== 0) {
    throw new Error(`missing ${path}: apt-get install ${debianPackage}`);
  }
}

// High enough that only the limited server's player bucket ever refuses: the address bucket is
// one per client address, shared with every other test file on this Redis.
const ROOMY = { burst: 100_000, perMinute: 1_000_000 };

const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const listen = (server: Server) =>
  new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

type ProxyLog = Array<{ key: string | undefined; at: number; status: number }>;

/**
 * A load balancer in front of `target`: forwards every request with `X-Forwarded-For: address`,
 * so the API (trusting its proxy, as deployed behind one) sees the SDK programs as a client
 * address of their own instead of 127.0.0.1, whose per-address buckets every test file shares.
 * With `log`, it also answers 429 (Retry-After: 1) to the first request of each Idempotency-Key.
 */
function proxy(target: string, address: string, log?: ProxyLog) {
  const seen = new Set<string>();
  return createServer((req, res) => {
    const key = req.headers['idempotency-key'] as string | undefined;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (log && key && !seen.has(key)) {
        seen.add(key);
        log.push({ key, at: Date.now(), status: 429 });
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ error: { code: 'rate_limited', message: 'slow down', details: null } }));
        return;
      }
      const headers = { ...req.headers, 'x-forwarded-for': address };
      const out = request(`${target}${req.url}`, { method: req.method, headers }, (answer) => {
        log?.push({ key, at: Date.now(), status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(Buffer.concat(chunks));
    });
  });
}

/** What a run is told about the staff reply's file it should find. */
export interface StaffFile {
  ticketId: string;
  playerId: string;
  messageId: string;
  attachmentId: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

export interface SdkTestServer {
  world: SdkWorld;
  baseUrl: string;
  flakyUrl: string;
  limitedUrl: string;
  /** A loopback address nothing listens on: the server is down. */
  deadUrl: string;
  flakyLog: ProxyLog;
  dir: string;
  /** A game of its own in the world's org, for runs that go side by side (announcements are per game). */
  newGame(slug: string): Promise<SdkGame>;
  /**
   * A player's game ticket with a staff reply carrying a file (stored, as staff upload it), for
   * an SDK run to check that the file is on the reply it reads.
   */
  staffFile(game: SdkGame, runId: string): Promise<StaffFile>;
  /** The config file an SDK's test program reads, for one run (on the world's game by default). */
  configFor(adapter: string, runId: string, game?: SdkGame, extra?: { staffFile?: StaffFile }): string;
  close(): Promise<void>;
}

/** The real API on loopback, a rate-limited twin, the 429 proxy and a dead address, with a seeded game. */
export async function startSdkTestServer(db: TestDb, name: string): Promise<SdkTestServer> {
  const world = await sdkWorld(db, name);
  // Real time, not the test API's frozen clock: the programs really wait out Retry-After, and a
  // frozen clock never refills the per-address bucket of failed key checks (one per run here).
  const settings = { trustProxy: true, now: () => Date.now() };
  const api: TestApi = await startTestApi(db.app, {
    settings,
    sdkRateLimits: { key: ROOMY, address: ROOMY, player: ROOMY },
  });
  const limited: TestApi = await startTestApi(db.app, {
    settings,
    sdkRateLimits: { key: ROOMY, address: ROOMY, player: { burst: 2, perMinute: 60 } },
  });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  await limited.app.listen({ host: '127.0.0.1', port: 0 });
  const apiUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  const limitedApiUrl = `http://127.0.0.1:${(limited.app.server.address() as AddressInfo).port}`;
  // One documentation-range address (RFC 5737) per test file.
  const address = `198.51.100.${randomInt(1, 255)}`;
  const flakyLog: ProxyLog = [];
  const proxies = [proxy(apiUrl, address), proxy(apiUrl, address, flakyLog), proxy(limitedApiUrl, address)];
  for (const p of proxies) await listen(p);
  const [baseUrl, flakyUrl, limitedUrl] = proxies.map(origin) as [string, string, string];
  const gone = createServer();
  await listen(gone);
  const deadUrl = origin(gone);
  await new Promise<void>((resolve) => gone.close(() => resolve()));
  const dir = mkdtempSync(join(tmpdir(), `gamemod-sdk-${name}-`));
  return {
    world,
    baseUrl,
    flakyUrl,
    limitedUrl,
    deadUrl,
    flakyLog,
    dir,
    newGame: (slug) => newSdkGame(db, world.org, slug),
    async staffFile(game, runId) {
      const player = { id: `files-${runId}`, name: 'Files' };
      const bytes = Buffer.from(`{"run":"${runId}"}\n`);
      const key = `orgs/${world.org.orgId}/attachments/sdk-run-${runId}`;
      const stored = await api.app.storage.put(key, bytes, { contentType: 'application/json' });
      return withTenant(db.app, world.org.orgId, async (tx) => {
        const { ticket } = await openGameTicket(tx, game.gameId, {
          player,
          subject: `Files ${runId}`,
          body: 'Send me the config',
        });
        const file = await recordAttachment(
          tx,
          {
            ticketId: ticket.id,
            filename: 'config.json',
            contentType: 'application/json',
            sizeBytes: stored.size,
            sha256: stored.sha256,
            storageKey: key,
            origin: 'panel',
          },
          world.org.owner,
        );
        const sent = await reply(
          tx,
          { ticketId: ticket.id, body: 'Here it is', origin: 'panel', attachmentIds: [file.id] },
          world.org.owner,
        );
        return {
          ticketId: ticket.id,
          playerId: player.id,
          messageId: sent.message.id,
          attachmentId: file.id,
          filename: file.filename,
          contentType: file.contentType,
          sizeBytes: file.sizeBytes,
        };
      });
    },
    configFor(adapter, runId, game = world, extra = {}) {
      const file = join(dir, `${runId}.json`);
      const config = {
        baseUrl,
        clientKey: game.clientKey,
        serverSecret: game.serverSecret,
        deadUrl,
        flakyUrl,
        limitedUrl,
        queueFile: join(dir, `${runId}-queue.json`),
        adapter,
        runId,
        ...extra,
      };
      writeFileSync(file, JSON.stringify(config));
      return file;
    },
    async close() {
      for (const p of proxies) await new Promise<void>((resolve) => p.close(() => resolve()));
      await limited.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ProgramRun {
  code: number;
  output: string;
  /** The program's closing `RESULT {...}` line. */
  result: Record<string, unknown>;
}

/** Runs an SDK's test program without blocking the event loop (the API answers it in this process). */
export function runProgram(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}) {
  return new Promise<ProgramRun>((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, output, result: line ? JSON.parse(line.slice('RESULT '.length)) : {} });
      },
    );
  });
}

/** The names of the checks a program's output reports as passed, and as failed. */
export function checks(run: ProgramRun) {
  const lines = run.output.split('\n');
  return {
    passed: lines.filter((l) => l.startsWith('ok   ')).map((l) => l.slice(5)),
    failed: lines.filter((l) => l.startsWith('FAIL')),
  };
}
