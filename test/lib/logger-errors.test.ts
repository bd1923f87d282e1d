import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { REST } from '@discordjs/rest';
import type { Client } from 'discord.js';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../../api/plugins/errors.js';
import { executeWebhook } from '../../bot/discord-api.js';
import { createLogger } from '../../lib/logger.js';
import { useTestDb } from '../support/db.js';

const WEBHOOK_TOKEN = 'SECRETWEBHOOKTOKEN_abcdefghijklmnopqrstuvwxyz0123456789';
const INTERACTION_TOKEN = 'SECRETINTERACTIONTOKEN_aW50ZXJhY3Rpb24udG9rZW4';
const REPLY_TEXT = 'Your account email is player@example.com';
const EMAIL = 'player@example.com';

function sink() {
  const lines = { out: '' };
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.out += String(chunk);
      done();
    },
  });
  return { lines, stream };
}

// A Discord that refuses everything, as it does a webhook deleted or a permission taken away.
let api = '';
const discord = createServer((_req, res) => {
  res.writeHead(403, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: 'Missing Permissions', code: 50013 }));
});
beforeAll(async () => {
  await new Promise<void>((r) => discord.listen(0, '127.0.0.1', () => r()));
  api = `http://127.0.0.1:${(discord.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise<void>((r) => discord.close(() => r())));

describe('the log line of a failed Discord call', () => {
  const rest = () => new REST({ api, version: '10', retries: 0 }).setToken('bot-token');

  it('does not carry the channel webhook token nor the reply text', async () => {
    const client = { rest: rest() } as unknown as Client;
    const { lines, stream } = sink();
    const log = createLogger('info', {}, stream);
    const err = await executeWebhook(
      client,
      { id: '123456789012345678', token: WEBHOOK_TOKEN },
      { content: REPLY_TEXT, username: 'Mod' },
      '223456789012345678',
    ).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(50013);
    log.error({ err }, 'interaction handler failed');
    expect(lines.out).toContain('interaction handler failed');
    expect(lines.out).not.toContain(WEBHOOK_TOKEN);
    expect(lines.out).not.toContain(EMAIL);
    const line = JSON.parse(lines.out) as { err: Record<string, unknown> };
    // What the operator needs to tell what failed is still there.
    expect(line.err).toMatchObject({
      message: 'Missing Permissions',
      code: 50013,
      status: 403,
      method: 'POST',
      url: '/api/v10/webhooks/123456789012345678/[redacted]',
    });
    expect(line.err).not.toHaveProperty('requestBody');
  });

  it('does not carry an interaction token, even when the error rides inside another', async () => {
    const { lines, stream } = sink();
    const log = createLogger('info', {}, stream);
    const err = await rest()
      .post(`/interactions/323456789012345678/${INTERACTION_TOKEN}/callback`, {
        body: { type: 4, data: { content: REPLY_TEXT } },
        auth: false,
      })
      .catch((e: unknown) => e);
    log.warn({ err }, 'interaction ack failed');
    log.error({ err: Object.assign(new Error('DM failed'), { original: err }) }, 'notification failed');
    log.error({ err: new AggregateError([err], 'every DM failed') }, 'notification failed');
    const out = lines.out.trim().split('\n');
    expect(out).toHaveLength(3);
    for (const l of out) {
      expect(l).not.toContain(INTERACTION_TOKEN);
      expect(l).not.toContain(EMAIL);
    }
    expect(out[0]).toContain('/api/v10/interactions/323456789012345678/[redacted]/callback');
  });
});

describe('the log line of a failed database query', () => {
  const db = useTestDb(2);

  it('names the constraint but not the values, nor the values in the message', async () => {
    const { lines, stream } = sink();
    const app = Fastify({ loggerInstance: createLogger('info', {}, stream) as FastifyBaseLogger });
    registerErrorHandling(app);
    app.post('/twice', async () => {
      await db.admin.query(`insert into users (display_name, email) values ('A', $1), ('B', $1)`, [EMAIL]);
      return 'ok';
    });
    app.get('/cast', async () => {
      await db.admin.query('select $1::uuid', [EMAIL]);
      return 'ok';
    });
    app.get('/wrapped', async () => {
      await db.admin.query('select $1::uuid', [EMAIL]).catch((e: unknown) => {
        throw new Error('looking the player up failed', { cause: e });
      });
      return 'ok';
    });
    for (const [method, url] of [
      ['POST', '/twice'],
      ['GET', '/cast'],
      ['GET', '/wrapped'],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode).toBe(500);
    }
    await app.close();
    const failed = lines.out
      .trim()
      .split('\n')
      .filter((l) => l.includes('request failed'));
    expect(failed).toHaveLength(3);
    for (const l of failed) expect(l).not.toContain(EMAIL);
    const [unique, cast, wrapped] = failed.map(
      (l) => (JSON.parse(l) as { err: Record<string, unknown> }).err,
    );
    expect(unique).toMatchObject({
      code: '23505',
      constraint: 'users_email_key',
      table: 'users',
      message: 'duplicate key value violates unique constraint "users_email_key"',
    });
    expect(unique).not.toHaveProperty('detail');
    expect(cast).toMatchObject({
      code: '22P02',
      message: 'invalid input syntax for type uuid: "[redacted]"',
    });
    // Wrapped as a cause, its message is appended to the wrapper's.
    expect(wrapped?.message).toBe(
      'looking the player up failed: invalid input syntax for type uuid: "[redacted]"',
    );
  });
});
