import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { ticketForSync } from '../../db/discord-ticket-sides.js';
import { erasePlayer, getPlayerExport, requestPlayerExport } from '../../db/player-privacy.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { close, reopen } from '../../db/ticket-status.js';
import * as tickets from '../../db/tickets.js';
import { postMessage } from '../../lib/discord/rest.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { privacySweep } from '../../workers/privacy.js';
import { postTranscript } from '../../workers/ticket-sync-steps.js';
import { useTestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from './support.js';

const run = promisify(execFile);
const db = useTestDb();
let fake: FakeDiscord;
let env: ReturnType<typeof testDeps>;
let dir: string;
let storage: LocalStorage;
beforeAll(async () => {
  fake = await startFakeDiscord();
  env = testDeps(db.app, uniquePrefix());
  env.deps.discord = new REST({ api: `${fake.url}/api`, retries: 0, timeout: 5_000 }).setToken(fake.botToken);
  dir = await mkdtemp(join(tmpdir(), 'gm-privacy-'));
  storage = new LocalStorage(join(dir, 'store'));
  env.deps.storage = storage;
});
afterAll(async () => {
  await env.close();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** A player with a ticket in a Discord channel, a stored file, and a game message the bot posted there. */
async function setup() {
  const org = await makeOrg(db.app);
  const guild = fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }] });
  const channelId = guild.channels.support as string;
  const made = await withTenant(db.app, org.orgId, async (tx) => {
    const p = await upsertPlayer(tx, { displayName: 'Ilsa', email: `ilsa-${org.orgId}@example.com` });
    const { ticket } = await tickets.openTicket(
      tx,
      {
        subject: 'Ilsa cannot log in',
        body: 'Ilsa: stuck at login',
        origin: 'game',
        requesterId: p.id,
        discordChannelId: channelId,
      },
      { type: 'player', id: p.id },
    );
    const file = await recordAttachment(
      tx,
      {
        ticketId: ticket.id,
        filename: 'shot.png',
        contentType: 'image/png',
        sizeBytes: 4,
        storageKey: `${org.orgId}/shot.png`,
        origin: 'game',
      },
      { type: 'player', id: p.id },
    );
    return { playerId: p.id, ticketId: ticket.id, fileId: file.id };
  });
  await storage.put(`${org.orgId}/shot.png`, Buffer.from('PNG!'), { contentType: 'image/png' });
  const posted = await postMessage(env.deps.discord as REST, channelId, {
    content: '**Ilsa** (game): stuck at login',
  });
  await db.admin.query(
    `update messages set discord_message_id = $2, delivered_at = now() where ticket_id = $1 and author_player_id is not null`,
    [made.ticketId, posted.id],
  );
  return { org, channelId, postedId: posted.id, ...made };
}

describe('player export job', () => {
  it('builds a gzipped tar with player.json and the files, readable by tar, and marks the export ready', async () => {
    const w = await setup();
    const requested = await withTenant(db.app, w.org.orgId, (tx) =>
      requestPlayerExport(tx, w.playerId, w.org.owner),
    );
    expect(requested.status).toBe('pending');
    expect((await privacySweep(env.deps)).exports).toBeGreaterThanOrEqual(1);
    const done = await withTenant(db.app, w.org.orgId, (tx) => getPlayerExport(tx, w.playerId, requested.id));
    expect(done).toMatchObject({ status: 'ready', error: null });
    const obj = await storage.get(done.storageKey as string);
    const chunks: Buffer[] = [];
    for await (const c of obj.body) chunks.push(c as Buffer);
    const archive = join(dir, `${requested.id}.tar.gz`);
    await writeFile(archive, Buffer.concat(chunks));
    const listed = (await run('tar', ['-tzf', archive])).stdout.trim().split('\n');
    expect(listed).toEqual(['player.json', `files/${w.fileId}-shot.png`]);
    const out = join(dir, requested.id);
    await run('mkdir', ['-p', out]);
    await run('tar', ['-xzf', archive, '-C', out]);
    expect(await readFile(join(out, 'files', `${w.fileId}-shot.png`), 'utf8')).toBe('PNG!');
    const json = JSON.parse(await readFile(join(out, 'player.json'), 'utf8'));
    expect(json.tables.player_profiles[0]).toMatchObject({ id: w.playerId, display_name: 'Ilsa' });
    expect(json.tables.tickets.map((t: { id: string }) => t.id)).toEqual([w.ticketId]);
    expect(json.tables.messages.map((m: { body: string }) => m.body)).toContain('Ilsa: stuck at login');
    // Nothing left to do: a second sweep builds nothing.
    expect((await privacySweep(env.deps)).exports).toBe(0);
  });
});

describe('erasing in Discord', () => {
  it("deletes the bot's post on the erased player's behalf through Discord, once", async () => {
    const w = await setup();
    expect(fake.state.messages.get(w.channelId)?.has(w.postedId)).toBe(true);
    const staffPost = await postMessage(env.deps.discord as REST, w.channelId, { content: 'staff notice' });
    await withTenant(db.app, w.org.orgId, (tx) => erasePlayer(tx, w.playerId, w.org.owner));
    expect((await privacySweep(env.deps)).discord).toBe(1);
    expect(fake.state.messages.get(w.channelId)?.has(w.postedId)).toBe(false);
    // Only that message: the rest of the channel stays.
    expect(fake.state.messages.get(w.channelId)?.has(staffPost.id)).toBe(true);
    const row = await db.admin.query('select status, done_at from discord_erasures where org_id = $1', [
      w.org.orgId,
    ]);
    expect(row.rows).toEqual([{ status: 'deleted', done_at: expect.any(Date) }]);
    expect((await privacySweep(env.deps)).discord).toBe(0);
  });

  it('counts a message already gone in Discord as deleted, not as a failure', async () => {
    const w = await setup();
    await (env.deps.discord as REST).delete(`/channels/${w.channelId}/messages/${w.postedId}`);
    await withTenant(db.app, w.org.orgId, (tx) => erasePlayer(tx, w.playerId, w.org.owner));
    await privacySweep(env.deps);
    const row = await db.admin.query('select status from discord_erasures where org_id = $1', [w.org.orgId]);
    expect(row.rows).toEqual([{ status: 'deleted' }]);
  });
});

describe('erasing stored files', () => {
  it('queues the erased player’s files in the erase’s transaction and the sweep deletes them, once', async () => {
    const w = await setup();
    const key = `${w.org.orgId}/shot.png`;
    await withTenant(db.app, w.org.orgId, (tx) => erasePlayer(tx, w.playerId, w.org.owner));
    // Committed with the erase, deleted by the workers: a crash in between loses nothing.
    const queued = await db.admin.query(
      'select storage_key, status from storage_erasures where org_id = $1',
      [w.org.orgId],
    );
    expect(queued.rows).toEqual([{ storage_key: key, status: 'pending' }]);
    expect(await storage.exists(key)).toBe(true);
    expect((await privacySweep(env.deps)).files).toBe(1);
    expect(await storage.exists(key)).toBe(false);
    const done = await db.admin.query('select status, done_at from storage_erasures where org_id = $1', [
      w.org.orgId,
    ]);
    expect(done.rows).toEqual([{ status: 'deleted', done_at: expect.any(Date) }]);
    expect((await privacySweep(env.deps)).files).toBe(0);
  });

  it('retries a delete storage refused, and gives up after the attempts with the error kept', async () => {
    const w = await setup();
    await withTenant(db.app, w.org.orgId, (tx) => erasePlayer(tx, w.playerId, w.org.owner));
    const real = env.deps.storage;
    env.deps.storage = Object.assign(Object.create(storage), {
      delete: async () => {
        throw new Error('storage is down');
      },
    });
    try {
      await privacySweep(env.deps);
      const once = await db.admin.query(
        'select status, attempts, error from storage_erasures where org_id = $1',
        [w.org.orgId],
      );
      expect(once.rows).toEqual([{ status: 'pending', attempts: 1, error: 'storage is down' }]);
      for (let i = 0; i < 4; i++) await privacySweep(env.deps);
      const last = await db.admin.query('select status, attempts from storage_erasures where org_id = $1', [
        w.org.orgId,
      ]);
      expect(last.rows).toEqual([{ status: 'failed', attempts: 5 }]);
    } finally {
      env.deps.storage = real;
    }
  });
});

async function read(key: string): Promise<string> {
  const obj = await storage.get(key);
  const chunks: Buffer[] = [];
  for await (const c of obj.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('erasing transcripts', () => {
  it("deletes the stored transcript and the transcript channel's post of the erased player's closed ticket", async () => {
    const org = await makeOrg(db.app);
    const guild = fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }, { name: 'transcripts' }] });
    const transcripts = guild.channels.transcripts as string;
    await db.admin.query(
      `insert into discord_guilds (org_id, guild_id, name, settings) values ($1, $2, 'Studio', $3)`,
      [org.orgId, guild.id, JSON.stringify({ transcriptChannelId: transcripts })],
    );
    const { playerId, ticketId } = await withTenant(db.app, org.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Zyphrenna', email: `z-${org.orgId}@example.com` });
      const { ticket } = await tickets.openTicket(
        tx,
        {
          subject: 'Zyphrenna lost her house',
          body: 'Zyphrenna here, my address is 12 Elm St',
          origin: 'game',
          requesterId: p.id,
          discordGuildId: guild.id,
        },
        { type: 'player', id: p.id },
      );
      await close(tx, { ticketId: ticket.id }, org.owner);
      return { playerId: p.id, ticketId: ticket.id };
    });
    const rest = env.deps.discord as REST;
    const transcribe = async () => {
      const s = await withTenant(db.app, org.orgId, (tx) => ticketForSync(tx, ticketId));
      return postTranscript(env.deps, org.orgId, rest, s!, new Date(), {});
    };
    const posted = await transcribe();
    const key = `orgs/${org.orgId}/transcripts/${ticketId}.html`;
    expect(await read(key)).toContain('12 Elm St');
    expect(fake.state.messages.get(transcripts)?.has(posted as string)).toBe(true);

    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, playerId, org.owner));
    await privacySweep(env.deps);
    const left = (await storage.exists(key)) ? await read(key) : '';
    expect(left, "the erased player's words are still in storage").not.toContain('12 Elm St');
    expect(fake.state.messages.get(transcripts)?.has(posted as string), 'the transcript post').toBe(false);

    // A later close renders the ticket as it is now: anonymised, and erased again on the next erase.
    await withTenant(db.app, org.orgId, async (tx) => {
      await reopen(tx, ticketId, org.owner);
      await close(tx, { ticketId }, org.owner);
    });
    const again = await transcribe();
    const html = await read(key);
    expect(html).not.toContain('12 Elm St');
    expect(html).not.toContain('Zyphrenna');
    expect(fake.state.messages.get(transcripts)?.get(again as string)?.content).not.toContain('Zyphrenna');
  });
});
