import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { randomSecretKey } from '../../lib/secret-key.js';

describe('bot settings in the config', () => {
  it('reads SHARD_COUNT, SHARD_IDS (lists and ranges) and DISCORD_MESSAGE_CONTENT', () => {
    const c = loadConfig({ SHARD_COUNT: '8', SHARD_IDS: '4-6,0,5', DISCORD_MESSAGE_CONTENT: 'false' });
    expect(c.discord).toMatchObject({ shardCount: 8, shardIds: [0, 4, 5, 6], messageContent: false });
    const d = loadConfig({});
    expect(d.discord).toMatchObject({ shardCount: undefined, shardIds: undefined, messageContent: true });
  });

  it('names a malformed SHARD_IDS', () => {
    expect(() => loadConfig({ SHARD_IDS: 'one,two' })).toThrow(/SHARD_IDS: shard ids like "0,1" or "0-3"/);
    expect(() => loadConfig({ SHARD_COUNT: '0' })).toThrow(/SHARD_COUNT/);
  });
});

describe('startBot', () => {
  it('refuses shard ids without a count or beyond it, before connecting anywhere', async () => {
    const { startBot } = await import('../../bot/index.js');
    const ctx = {
      pool: {} as never,
      redisUrl: 'redis://127.0.0.1:1',
      logger: pino({ level: 'silent' }),
      secretKey: randomSecretKey(),
    };
    for (const env of [
      { DISCORD_TOKEN: 't', SHARD_IDS: '1' },
      { DISCORD_TOKEN: 't', SHARD_IDS: '0-2', SHARD_COUNT: '2' },
    ]) {
      await expect(startBot(loadConfig(env), ctx)).rejects.toMatchObject({ code: 'config_invalid' });
    }
  });
});
