import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import {
  checks,
  requireFile,
  requireTools,
  runProgram,
  type SdkTestServer,
  startSdkTestServer,
} from './support.js';

// The Lua SDK's own test program (sdk/lua/test/run.lua) against the real API, under the three
// interpreters, through luasocket and through each engine adapter over fake engine globals.
const LUA_DIR = resolve(import.meta.dirname, '../../sdk/lua');
const INTERPRETERS = ['lua5.1', 'luajit', 'lua5.4'] as const;
const ADAPTERS = ['luasocket', 'gmod', 'fivem', 'roblox'] as const;
/** The whole program through each adapter under each interpreter (an engine's mod may run any). */
const RUNS = INTERPRETERS.flatMap((lua) => ADAPTERS.map((adapter) => [lua, adapter] as const));

requireTools([
  ['lua5.1', 'lua5.1'],
  ['luac5.1', 'lua5.1'],
  ['luajit', 'luajit'],
  ['lua5.4', 'lua5.4'],
]);
requireFile('/usr/share/lua/5.1/socket/http.lua', 'lua-socket');
requireFile('/usr/share/lua/5.4/socket/http.lua', 'lua-socket');

const db = useTestDb();
let server: SdkTestServer;
let runs = 0;

beforeAll(async () => {
  server = await startSdkTestServer(db, 'lua');
});
afterAll(async () => {
  await server?.close();
});

describe('Lua SDK', () => {
  it('every shipped .lua file parses as Lua 5.1 (luac5.1 -p)', () => {
    const files = [
      join(LUA_DIR, 'gamemod.lua'),
      ...readdirSync(join(LUA_DIR, 'examples')).map((f) => join(LUA_DIR, 'examples', f)),
      ...readdirSync(join(LUA_DIR, 'test')).map((f) => join(LUA_DIR, 'test', f)),
    ].filter((f) => f.endsWith('.lua'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    // Throws with luac's message on the first file that does not parse. Lua 5.1's grammar has no
    // goto, labels or `//`, so passing here also keeps the files free of what Luau lacks.
    execFileSync('luac5.1', ['-p', ...files]);
  });

  for (const lua of INTERPRETERS) {
    it(`${lua}: JSON, retry decisions and the offline queue's drops and cap (scripted transport)`, async () => {
      const run = await runProgram(lua, [join(LUA_DIR, 'test/unit.lua')], { timeoutMs: 20_000 });
      const { passed, failed } = checks(run);
      expect(failed, run.output).toEqual([]);
      expect(run.code, run.output).toBe(0);
      expect(passed.length, run.output).toBe(21);
    });
  }

  // The runs mostly wait (Retry-After, backoff, polling): they go side by side, each with its own ids.
  describe.concurrent('the program against the API', () => {
    for (const [lua, adapter] of RUNS) {
      it(`${lua}, ${adapter}: tickets, replies, polling, reports, sessions, link code, announcements, errors, 429, offline queue`, {
        timeout: 90_000,
      }, async ({ expect }) => {
        runs += 1;
        const runId = `${lua.replace('.', '')}-${adapter}-${runs}-${Date.now().toString(36)}`;
        const game = await server.newGame(runId.toLowerCase());
        const staffFile = await server.staffFile(game, runId);
        const run = await runProgram(
          lua,
          [join(LUA_DIR, 'test/run.lua'), server.configFor(adapter, runId, game, { staffFile })],
          {
            timeoutMs: 80_000,
          },
        );
        const { passed, failed } = checks(run);
        expect(failed, run.output).toEqual([]);
        expect(run.code, run.output).toBe(0);
        expect(passed.length, run.output).toBeGreaterThanOrEqual(30);
        expect(passed, run.output).toContain("a staff reply's file is on its message");
        expect(run.result.adapter).toBe(adapter);

        // What the program did is in the database: a game ticket made once despite the repeat,
        // the reports, and the queued report and ticket each sent exactly once.
        const { admin } = db;
        const { orgId } = server.world.org;
        const ticket = await admin.query(
          'select origin, game_id as "gameId", org_id as "orgId" from tickets where id = $1::uuid',
          [run.result.ticketId],
        );
        expect(ticket.rows).toEqual([{ origin: 'game', gameId: game.gameId, orgId }]);
        const same = await admin.query(
          'select count(*)::int as n from tickets where org_id = $1::uuid and subject = $2::text',
          [orgId, `Stuck in a wall ${runId}`],
        );
        expect(same.rows[0].n).toBe(1);
        const reports = await admin.query(
          `select reason, details, coalesce(ticket_id, queued_ticket_id) as "ticketId" from player_reports
            where org_id = $1::uuid and details like '%' || $2::text order by created_at`,
          [orgId, runId],
        );
        expect(reports.rows).toEqual([
          { reason: 'cheating', details: `aimbot ${runId}`, ticketId: run.result.reportTicketId },
          { reason: 'spam', details: `429 ${runId}`, ticketId: expect.any(String) },
          { reason: 'griefing', details: `offline ${runId}`, ticketId: run.result.queuedReportTicketId },
        ]);
        const queued = await admin.query(
          'select id from tickets where org_id = $1::uuid and subject = $2::text',
          [orgId, `Offline ticket ${runId}`],
        );
        expect(queued.rows).toEqual([{ id: run.result.queuedTicketId }]);

        // The proxy refused the first try and the retry came at least Retry-After later.
        const tries = server.flakyLog.filter((l) => l.key === `flaky-${runId}`);
        expect(tries.map((t) => t.status)).toEqual([429, 201]);
        expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
        expect(run.result.serverRateLimitRetries).toBeGreaterThanOrEqual(1);
      });
    }
  });
});
