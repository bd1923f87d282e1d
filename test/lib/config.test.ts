import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';

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
});
