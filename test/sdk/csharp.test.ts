import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
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

// The C# SDK built with mono's mcs against the netstandard facade (sdk/csharp/build.sh), the
// Unity adapter against the UnityEngine stub, and the SDK's own test program run with mono
// against the real API through each transport.
const CS_DIR = resolve(import.meta.dirname, '../../sdk/csharp');
const TRANSPORTS = ['httpclient', 'unity'] as const;

requireTools([
  ['mcs', 'mono-mcs'],
  ['mono', 'mono-runtime'],
]);
requireFile('/usr/lib/mono/4.7.2-api/Facades/netstandard.dll', 'mono-devel');

const db = useTestDb();
let server: SdkTestServer;
let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'gamemod-csharp-'));
  // Throws with mcs's messages when anything fails to compile (warnings are errors there).
  await promisify(execFile)(join(CS_DIR, 'build.sh'), [out], { timeout: 120_000 });
  server = await startSdkTestServer(db, 'csharp');
}, 180_000);
afterAll(async () => {
  await server?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('C# SDK', () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: tickets, replies, polling, reports, sessions, link code, announcements, errors, 429, offline queue`, {
      timeout: 90_000,
    }, async () => {
      const runId = `cs-${transport}-${Date.now().toString(36)}`;
      const staffFile = await server.staffFile(server.world, runId);
      const run = await runProgram(
        'mono',
        [join(out, 'GameMod.Tests.exe'), server.configFor(transport, runId, server.world, { staffFile })],
        {
          timeoutMs: 80_000,
        },
      );
      const { passed, failed } = checks(run);
      expect(failed, run.output).toEqual([]);
      expect(run.code, run.output).toBe(0);
      expect(passed.length, run.output).toBeGreaterThanOrEqual(28);
      // The retry decisions on a scripted transport ran too.
      expect(passed, run.output).toContain('a keyless POST is not retried on 5xx');
      expect(passed, run.output).toContain("a staff reply's file is on its message");
      expect(run.result.adapter).toBe(transport);

      const { admin } = db;
      const { orgId } = server.world.org;
      const ticket = await admin.query(
        'select origin, game_id as "gameId", org_id as "orgId" from tickets where id = $1::uuid',
        [run.result.ticketId],
      );
      expect(ticket.rows).toEqual([{ origin: 'game', gameId: server.world.gameId, orgId }]);
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

      const tries = server.flakyLog.filter((l) => l.key === `flaky-${runId}`);
      expect(tries.map((t) => t.status)).toEqual([429, 201]);
      expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
      expect(run.result.serverRateLimitRetries).toBeGreaterThanOrEqual(1);
    });
  }
});
