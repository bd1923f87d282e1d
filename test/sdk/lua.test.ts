import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertGamePlayer } from '../../db/game-players.js';
import { setModeration } from '../../db/player-moderation.js';
import { withTenant } from '../../db/tenant.js';
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
      expect(passed.length, run.output).toBe(27);
    });
  }

  it("Garry's Mod example: kicks a player whose ban holds on join, lets in one whose ban ended", async () => {
    const { org } = server.world;
    const day = 86_400_000;
    const bans = { '76561198000000041': Date.now() + day, '76561198000000042': Date.now() - day };
    await withTenant(db.app, org.orgId, async (tx) => {
      for (const [steamId, until] of Object.entries(bans)) {
        const p = await upsertGamePlayer(tx, server.world.gameId, { id: steamId, name: steamId });
        const bannedUntil = new Date(until).toISOString();
        await setModeration(tx, p.id, { bannedUntil, reason: 'griefing (1 day)' }, org.owner);
      }
    });
    const script = join(server.dir, 'gmod-example.lua');
    // The example as Garry's Mod runs it: include() hands it the SDK, hooks fire on join.
    writeFileSync(
      script,
      `package.path = "${LUA_DIR}/?.lua;${LUA_DIR}/test/?.lua;" .. package.path
local Fakes = require("fakes")
Fakes.installGmod()
local cfg = require("gamemod").json.decode(io.open(arg[1]):read("*a"))
_G.include = function(name)
  local GM = dofile("${LUA_DIR}/" .. name)
  local new = GM.new
  GM.new = function(o) o.baseUrl = cfg.baseUrl; o.key = cfg.serverSecret; return new(o) end
  return GM
end
local hooks = {}
_G.hook = { Add = function(event, name, fn) hooks[event] = hooks[event] or {}; hooks[event][name] = fn end }
dofile("${LUA_DIR}/examples/gmod.lua")
local kicked, answered = {}, 0
for _, id in ipairs({ "76561198000000041", "76561198000000042" }) do
  local ply = { SteamID64 = function() return id end, Nick = function() return id end,
    Kick = function(_, reason) kicked[id] = reason end }
  hooks.PlayerInitialSpawn.GameModModeration(ply)
end
-- The fake engine sent both requests within the hook calls; their answers come on the next frames.
local socket = require("socket")
local deadline = socket.gettime() + 1
while socket.gettime() < deadline do Fakes.pump(); socket.sleep(0.02) end
print("RESULT " .. require("gamemod").json.encode({ active = kicked["76561198000000041"] or false,
  ended = kicked["76561198000000042"] or false, requests = #Fakes.log }))
`,
    );
    const run = await runProgram('luajit', [script, server.configFor('gmod', 'gmod-example')], {
      timeoutMs: 30_000,
    });
    expect(run.result, run.output).toEqual({ active: 'Banned: griefing (1 day)', ended: false, requests: 2 });
  });

  it('FiveM example: loads as FiveM loads a resource (scripts in one environment, no require) and files a /report', async () => {
    const script = join(server.dir, 'fivem-example.lua');
    // As fxmanifest.lua's server_scripts run: gamemod.lua, then the example, as plain scripts.
    // The SDK's folder is not on package.path: FiveM's require does not find resource files.
    writeFileSync(
      script,
      `package.path = "${LUA_DIR}/test/?.lua;" .. package.path
local Fakes = require("fakes")
Fakes.installFivem()
loadfile("${LUA_DIR}/gamemod.lua")()
local cfg = GameMod.json.decode(io.open(arg[1]):read("*a"))
local commands, chat = {}, {}
_G.GetConvar = function(name, default)
  return ({ gamemod_url = cfg.baseUrl, gamemod_server_secret = cfg.serverSecret })[name] or default
end
_G.RegisterCommand = function(name, fn) commands[name] = fn end
_G.CreateThread = function(fn) coroutine.wrap(fn)() end
_G.Wait = function() coroutine.yield() end
_G.TriggerClientEvent = function(event, target, msg) if target ~= -1 then chat[#chat + 1] = msg.args[2] end end
_G.GetPlayerIdentifierByType = function(src) return "license:fivem-example-" .. src end
_G.GetPlayerName = function(src) return "Player " .. src end
loadfile("${LUA_DIR}/examples/fivem.lua")()
commands.report(1, { "2", "cheating", "aimbot", "fivem-example" })
local socket = require("socket")
local deadline = socket.gettime() + 10
while #chat == 0 and socket.gettime() < deadline do Fakes.pump(); socket.sleep(0.02) end
print("RESULT " .. GameMod.json.encode({ chat = chat }))
`,
    );
    const run = await runProgram('lua5.4', [script, server.configFor('fivem', 'fivem-example')], {
      timeoutMs: 30_000,
    });
    expect(run.result, run.output).toEqual({ chat: ['Thanks, the moderators have your report.'] });
  });

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
