import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ChannelType, REST } from 'discord.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deployCommands } from '../../bot/deploy-commands.js';
import { RedisIdentifyThrottler } from '../../bot/identify-throttler.js';
import { commandData } from '../../bot/registry.js';
import { createShardManager } from '../../bot/shard-manager.js';
import { SYSTEM } from '../../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { loadConfig } from '../../lib/config.js';
import { createTestDb, type TestDb } from '../support/db.js';
import {
  type FakeDiscord,
  type SeededGuild,
  shardOf,
  startFakeDiscord,
} from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';

const MAIN = fileURLToPath(new URL('../../main.ts', import.meta.url));

let db: TestDb & { drop(): Promise<void> };
let fake: FakeDiscord;
let guilds: SeededGuild[];
let player: string;
const children: ChildProcess[] = [];

function startShardProcess(shardId: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'bot'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: db.appUrl,
      REDIS_URL: inject('services').redisUrl,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'info',
      DISCORD_TOKEN: fake.botToken,
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_URL: `${fake.url}/api`,
      SHARD_COUNT: '2',
      SHARD_IDS: String(shardId),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`shard ${shardId} did not start:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('connected to the Discord gateway')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`shard ${shardId} exited with ${code}:\n${out}`));
    });
  });
}

beforeAll(async () => {
  db = await createTestDb(4);
  fake = await startFakeDiscord({
    sessionStartLimit: { max_concurrency: 1 },
    shards: 2,
    globalRateLimit: 50,
  });
  player = fake.addUser({ username: 'player' }).id;
  guilds = [0, 1].map((shard) =>
    fake.addGuild({
      name: `Guild on shard ${shard}`,
      shard: [shard, 2],
      channels: [{ name: 'support', type: ChannelType.GuildText }],
      members: [player],
    }),
  );
  for (const g of guilds) {
    const org = await makeOrg(db.app, 'Sharded');
    const { code } = await withTenant(db.app, org.orgId, (tx) => createGuildLinkCode(tx, org.owner));
    await redeemGuildLinkCode(db.app, { code, guildId: g.id, guildName: 'g' }, org.owner);
    await withTenant(db.app, org.orgId, (tx) =>
      updateGuildSettings(tx, g.id, { supportChannelId: g.channels['support'], cooldownSeconds: 0 }, SYSTEM),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await fake?.close();
  await db?.drop();
});

describe('sharding', () => {
  it('two shards in two processes each serve their own guilds, identifying within max_concurrency', async () => {
    expect(guilds.map((g) => shardOf(g.id, 2))).toEqual([0, 1]);
    const started = await Promise.all([startShardProcess(0), startShardProcess(1)]);
    const starts = fake.sessionStarts;
    expect(starts.map((s) => s.shardId).sort()).toEqual([0, 1]);
    expect(starts.every((s) => s.shardCount === 2)).toBe(true);
    // max_concurrency 1: the Redis throttler held the second IDENTIFY back for Discord's 5 s.
    expect(starts.some((s) => s.violatesMaxConcurrency)).toBe(false);

    for (const [shard, g] of guilds.entries()) {
      const handle = fake.sendInteraction({
        kind: 'chatInput',
        name: 'ticket',
        subcommand: 'open',
        guildId: g.id,
        channelId: g.channels['support'] ?? '',
        userId: player,
        options: [{ name: 'subject', value: `from shard ${shard}` }],
      });
      const first = await handle.response;
      expect(first?.type).toBe(5);
      const edit = await fake.waitForRequest(
        { method: 'PATCH', path: `/webhooks/${fake.applicationId}/${handle.token}/messages/@original` },
        15_000,
      );
      expect((edit.body as { content: string }).content).toMatch(/^Your ticket #1 is open/);
      // Only the session of the guild's shard received the interaction.
      const delivered = fake
        .frames({ direction: 'out', t: 'INTERACTION_CREATE' })
        .filter((f) => (f.d as { id: string }).id === handle.id);
      expect(delivered.map((f) => f.shardId)).toEqual([shard]);
    }

    // Discord sends every DM to shard 0, so shard 0's process alone searches for a first DM's
    // servers; the player shares one with the bot on each shard, and both are offered.
    fake.userDm(player, 'Which studio answers DMs?');
    const dm = fake.state.openDm(player).id;
    const asked = await fake.waitForRequest({ method: 'POST', path: `/channels/${dm}/messages` }, 15_000);
    const options = JSON.stringify((asked.body as { components?: unknown }).components ?? []);
    expect(options, 'the servers a first DM is offered').toContain(guilds[1]?.id);
    expect(options).toContain(guilds[0]?.id);
    expect(fake.faults.globalRefusals, 'requests past Discord’s global 50/s').toBe(0);

    // Clean shutdown: SIGTERM ends each process with status 0.
    const exits = started.map((c) => new Promise<number | null>((resolve) => c.once('exit', resolve)));
    for (const c of started) c.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
  }, 60_000);

  it('the Redis throttler lets one shard per bucket identify per window, across clients', async () => {
    const redis = new Redis(inject('services').redisUrl, { lazyConnect: true });
    await redis.connect();
    try {
      const prefix = `gm:test:${randomBytes(4).toString('hex')}`;
      const windowMs = 1500;
      const a = new RedisIdentifyThrottler(redis, 2, prefix, windowMs);
      const b = new RedisIdentifyThrottler(redis, 2, prefix, windowMs);
      const signal = new AbortController().signal;
      await a.waitForIdentify(0, signal);
      const t0 = Date.now();
      expect(await redis.pttl(`${prefix}:identify:0`)).toBeGreaterThan(0);
      await b.waitForIdentify(1, signal); // another bucket: no wait
      let done = false;
      const late = b.waitForIdentify(2, signal).then(() => {
        done = true;
      });
      // Same bucket as shard 0, from another client: still waiting well inside the window...
      await new Promise((r) => setTimeout(r, 100));
      expect(done).toBe(false);
      // ...and let through only once the window has passed (a lower bound: never flaky).
      await late;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(windowMs - 50);
      const aborted = new AbortController();
      const waiting = a.waitForIdentify(4, aborted.signal);
      aborted.abort();
      await expect(waiting).rejects.toThrow();
    } finally {
      redis.disconnect();
    }
  });
});

describe('ShardingManager mode', () => {
  it('runs one process per shard, each with only its own shard', async () => {
    const before = fake.sessionStarts.length;
    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: db.appUrl,
      REDIS_URL: inject('services').redisUrl,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      DISCORD_TOKEN: fake.botToken,
      DISCORD_API_URL: `${fake.url}/api`,
      SHARD_COUNT: '2',
      SHARD_IDS: '0-1',
    };
    const manager = createShardManager(loadConfig(env));
    // The children get the test's services through their environment (the listener the manager
    // registered first has already narrowed SHARD_IDS to the child's own shard).
    manager.on('shardCreate', (shard) => {
      const s = shard as unknown as { env: Record<string, string> };
      s.env = { ...s.env, ...env, SHARD_IDS: s.env['SHARD_IDS'] ?? '' };
    });
    try {
      await manager.spawn({ amount: 2, delay: 0, timeout: 60_000 });
      const starts = fake.sessionStarts.slice(before);
      expect(starts.map((s) => s.shardId).sort()).toEqual([0, 1]);
      expect(starts.some((s) => s.violatesMaxConcurrency)).toBe(false);
      const ids = await manager.broadcastEval((c) => [...c.ws.shards.keys()]);
      expect(ids).toEqual([[0], [1]]);
      const guildsPerProcess = await manager.broadcastEval((c) => [...c.guilds.cache.keys()]);
      expect(guildsPerProcess).toEqual([[guilds[0]?.id], [guilds[1]?.id]]);
    } finally {
      for (const shard of manager.shards.values()) shard.kill();
    }
  }, 90_000);
});

describe('deploy-commands', () => {
  it('registers every command globally or in one guild, accepted by the strict fake', async () => {
    const rest = new REST({ api: `${fake.url}/api` }).setToken(fake.botToken);
    const global = await deployCommands(rest, fake.applicationId);
    expect(global.map((c) => c.name).sort()).toEqual(
      commandData()
        .map((c) => c.name)
        .sort(),
    );
    expect(global.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'setup',
        'panel',
        'ticket',
        'reply',
        'tag',
        'stats',
        'Open a ticket about this message',
      ]),
    );
    // In each shipped language (the fake refuses unknown locales and invalid localized names).
    const ticket = fake.state.globalCommands.find((c) => c['name'] === 'ticket');
    expect(ticket?.['description_localizations']).toMatchObject({
      de: 'Tickets eröffnen und bearbeiten',
      fr: 'Ouvrir et traiter des tickets',
      'es-ES': 'Abrir y gestionar tickets',
      'es-419': 'Abrir y gestionar tickets',
      'pt-BR': 'Abrir e atender tickets',
    });
    const close = ((ticket?.['options'] ?? []) as Array<Record<string, unknown>>).find(
      (o) => o['name'] === 'close',
    );
    expect(close?.['name_localizations']).toMatchObject({ de: 'schließen', fr: 'fermer' });
    const guildId = guilds[0]?.id ?? '';
    await deployCommands(rest, fake.applicationId, guildId);
    expect(fake.state.guildCommands.get(guildId)?.length).toBe(commandData().length);
  });
});
