import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';

describe('Web Push configuration', () => {
  it('refuses half a VAPID pair, and derives the contact from PUBLIC_URL', () => {
    const pub = `B${'A'.repeat(86)}`;
    expect(() => loadConfig({ WEB_PUSH_VAPID_PUBLIC_KEY: pub })).toThrow(/WEB_PUSH_VAPID_PRIVATE_KEY/);
    const both = loadConfig({ WEB_PUSH_VAPID_PUBLIC_KEY: pub, WEB_PUSH_VAPID_PRIVATE_KEY: 'k'.repeat(43) });
    expect(both.webPush.vapid).toEqual({ publicKey: pub, privateKey: 'k'.repeat(43) });
    expect(loadConfig({}).webPush).toEqual({ subject: 'mailto:webpush@localhost', vapid: undefined });
    expect(loadConfig({ PUBLIC_URL: 'https://help.studio.example/panel' }).webPush.subject).toBe(
      'https://help.studio.example',
    );
    expect(() => loadConfig({ WEB_PUSH_SUBJECT: 'http://studio.example' })).toThrow(/WEB_PUSH_SUBJECT/);
  });
});
