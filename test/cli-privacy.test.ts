import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertPlayer } from '../db/players.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { runCli } from './support/cli.js';
import { useTestDb } from './support/db.js';
import { makeOrg } from './support/fixtures.js';

/** `npm run cli -- player export|erase` as a real process against this file's test database. */
const db = useTestDb();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gm-cli-privacy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(db.appUrl, args, { DATA_DIR: dir });

describe('player export and erase from the CLI', () => {
  it('writes the archive, erases with --yes only, and audits both as the system', async () => {
    const org = await makeOrg(db.app, 'CliPrivacy');
    const playerId = await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Tamsin', email: `tamsin-${org.orgId}@example.com` });
      await openTicket(tx, { subject: 'Tamsin asks', origin: 'panel', requesterId: p.id }, org.owner);
      return p.id;
    });
    const out = join(dir, 'tamsin.tar.gz');
    const exported = await cli(['player', 'export', '--org', org.orgId, '--player', playerId, '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.trim()).toBe(out);
    expect((await readFile(out)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    const refused = await cli(['player', 'erase', '--org', org.orgId, '--player', playerId]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    const erased = await cli(['player', 'erase', '--org', org.orgId, '--player', playerId, '--yes']);
    expect(erased.code, erased.stderr).toBe(0);
    expect(JSON.parse(erased.stdout)).toMatchObject({ tickets: 1, exports: 1 });
    const audit = await db.admin.query(
      `select action, actor_type, request_id from audit_logs where org_id = $1 and target_id = $2 order by id`,
      [org.orgId, playerId],
    );
    expect(audit.rows).toEqual([
      { action: 'player.export_requested', actor_type: 'system', request_id: 'cli' },
      { action: 'player.erased', actor_type: 'system', request_id: 'cli' },
    ]);
    expect((await cli(['player', 'erase', '--org', 'x', '--player', playerId, '--yes'])).code).toBe(2);
    // Five processes, each compiling the CLI on start: slow on a busy machine, not a timing check.
  }, 180_000);
});
