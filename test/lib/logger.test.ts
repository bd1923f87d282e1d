import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';

describe('request logs', () => {
  it('leave the query string out (OAuth codes, download tokens) and redact credentials', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    const app = Fastify({ loggerInstance: createLogger('info', {}, sink) as never });
    app.get('/auth/discord/callback', async () => 'ok');
    await app.inject({
      method: 'GET',
      url: '/auth/discord/callback?code=SECRETCODE&state=SECRETSTATE',
      headers: { authorization: 'Bearer gm_secret', cookie: 'gm_session=SESSIONID' },
    });
    await app.close();
    expect(out).toContain('/auth/discord/callback');
    expect(out).not.toMatch(/SECRETCODE|SECRETSTATE|gm_secret|SESSIONID/);
  });
});
