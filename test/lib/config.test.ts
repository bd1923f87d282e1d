import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { randomSecretKey } from '../../lib/secret-key.js';

describe('config', () => {
  it('has working defaults for the embedded stack', () => {
    const c = loadConfig({});
    expect(c.roles).toEqual(['api', 'bot', 'workers']);
    expect(c.database.url).toBeUndefined();
    expect(c.embedded).toMatchObject({ dataDir: '.data', pgPort: 54329, redisPort: 63790, install: true });
    expect(Object.isFrozen(c) && Object.isFrozen(c.database)).toBe(true);
  });

  it('names every bad variable at once', () => {
    const err = (() => {
      try {
        loadConfig({ PORT: 'eighty', ROLES: 'api,chef', DATABASE_URL: 'nope', DISCORD_APPLICATION_ID: '12' });
      } catch (e) {
        return e as { code: string; message: string };
      }
    })();
    expect(err?.code).toBe('config_invalid');
    for (const name of ['PORT', 'ROLES', 'DATABASE_URL', 'DISCORD_APPLICATION_ID'])
      expect(err?.message).toContain(name);
  });

  it('treats empty variables as unset and dedupes roles', () => {
    const c = loadConfig({ DATABASE_URL: '', ROLES: 'api, api,workers', SEED_DEMO: 'false' });
    expect(c.database.url).toBeUndefined();
    expect(c.roles).toEqual(['api', 'workers']);
    expect(c.seedDemo).toBe(false);
  });

  it('refuses production without SECRET_KEY, naming it and how to make one, even beside other errors', () => {
    const fail = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('loadConfig accepted it');
    };
    const alone = fail({ NODE_ENV: 'production' });
    expect(alone.code).toBe('config_invalid');
    expect(alone.message).toMatch(/SECRET_KEY: required in production/);
    expect(alone.message).toContain('openssl rand -base64 32');
    const beside = fail({ NODE_ENV: 'production', PORT: 'eighty', DATABASE_URL: 'nope' });
    for (const name of ['SECRET_KEY', 'PORT', 'DATABASE_URL']) expect(beside.message).toContain(name);
    // Weak keys are refused in every environment.
    for (const weak of [
      Buffer.alloc(32).toString('base64'),
      randomBytes(16).toString('base64'),
      'hunter2!',
    ]) {
      expect(fail({ SECRET_KEY: weak }).message).toMatch(/SECRET_KEY: /);
    }
    const key = randomSecretKey();
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: key }).secretKey).toBe(key);
    expect(loadConfig({}).secretKey).toBeUndefined();
  });

  it('trusts a proxy by hop count or by address, and says which values it takes', () => {
    const trust = (v: string) => loadConfig({ TRUST_PROXY: v }).api.trustProxy;
    expect(loadConfig({}).api.trustProxy).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(true);
    // A number is hops: 1 is one proxy in front (the address it appended), not "yes".
    expect(trust('1')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 127.0.0.1,2001:db8::/32')).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '2001:db8::/32',
    ]);
    for (const bad of ['banana', '10.0.0.0/99', '11', '1.2.3', '127.0.0.1,'])
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
  });

  it('caps download links at 15 minutes unless told otherwise', () => {
    expect(loadConfig({}).downloadLinkMaxSeconds).toBe(900);
    expect(loadConfig({ DOWNLOAD_LINK_MAX_MINUTES: '5' }).downloadLinkMaxSeconds).toBe(300);
    expect(() => loadConfig({ DOWNLOAD_LINK_MAX_MINUTES: '0' })).toThrow(/DOWNLOAD_LINK_MAX_MINUTES/);
  });
});
