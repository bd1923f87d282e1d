import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, LazyChildLogger, type Logger } from '../../lib/logger.js';

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

describe('a request logger made on first use', () => {
  const build = (level: string) => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    const parent = createLogger(level, {}, sink);
    let children = 0;
    const child = parent.child.bind(parent);
    parent.child = ((...args: Parameters<Logger['child']>) => {
      children++;
      return child(...args);
    }) as Logger['child'];
    const app = Fastify({
      loggerInstance: parent as FastifyBaseLogger,
      childLoggerFactory: (logger, bindings) =>
        new LazyChildLogger(logger as Logger, bindings) as unknown as FastifyBaseLogger,
    });
    app.get('/quiet', async () => 'ok');
    app.get('/loud', async (req) => {
      req.log.warn({ why: 'test' }, 'something to say');
      return 'ok';
    });
    return {
      app,
      out: () => out,
      children: () => children,
      // Fastify makes its own children at start-up; count the requests' only.
      ready: async () => {
        await app.ready();
        children = 0;
      },
    };
  };

  it('writes the request lines with the request id at the levels that are on', async () => {
    const { app, out } = build('info');
    await app.inject({ method: 'GET', url: '/loud', headers: { 'x-request-id': 'req-lazy-1' } });
    await app.close();
    const lines = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'something to say', 'request completed']);
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(1);
    expect(lines[1]).toMatchObject({ why: 'test', level: 40 });
  });

  it('makes no pino child for a request that writes nothing at the level that is on', async () => {
    const { app, out, children, ready } = build('warn');
    await ready();
    await app.inject({ method: 'GET', url: '/quiet' });
    expect(children()).toBe(0);
    expect(out()).toBe('');
    await app.inject({ method: 'GET', url: '/loud' });
    await app.close();
    expect(children()).toBe(1);
    expect(JSON.parse(out())).toMatchObject({
      msg: 'something to say',
      level: 40,
      reqId: expect.any(String),
    });
  });
});
