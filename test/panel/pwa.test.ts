import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPanel } from '../../api/routes/panel.js';
import { useTestDb } from '../support/db.js';
import {
  ARGS,
  CHROMIUM,
  collectErrors,
  type PanelRig,
  seriousViolations,
  shot,
  startPanelRig,
} from './support.js';

/**
 * The panel as an installable app: the manifest with what Chromium needs to install it, the
 * service worker (scope, caching of the release's files and never of the API), and a reload with
 * the network gone showing the offline page instead of Chromium's error page.
 */
const db = useTestDb();
let rig: PanelRig;
let ctx: BrowserContext;
let page: Page;
let errors: string[];

beforeAll(async () => {
  rig = await startPanelRig(db.app);
  ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(8000);
  page = await ctx.newPage();
  errors = collectErrors(page);
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await rig?.close();
});

interface Manifest {
  id: string;
  name: string;
  short_name: string;
  start_url: string;
  scope: string;
  display: string;
  theme_color: string;
  background_color: string;
  icons: { src: string; sizes: string; type: string; purpose?: string }[];
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(b: Buffer): { width: number; height: number } {
  expect(b.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

async function manifestUrl(): Promise<string> {
  const html = await (await fetch(`${rig.url}/`)).text();
  const href = html.match(/<link rel="manifest" href="([^"]+)"/)?.[1];
  expect(href, 'the page links a manifest').toBeDefined();
  return new URL(href as string, rig.url).href;
}

describe('manifest', () => {
  it('is linked from the page, parses, and has the fields and icons Chromium installs from', async () => {
    const url = await manifestUrl();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/manifest\+json/);
    const m = (await res.json()) as Manifest;
    expect(m).toMatchObject({ id: '/', start_url: '/', scope: '/', display: 'standalone' });
    expect(m.name).toBe('GameMod');
    expect(m.short_name.length).toBeLessThanOrEqual(12);
    expect(m.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(m.background_color).toMatch(/^#[0-9a-f]{6}$/i);
    // Chromium wants a 192 px and a 512 px icon (or an SVG of any size); a maskable one for Android.
    const sizes = new Set<string>();
    for (const icon of m.icons) {
      const r = await fetch(new URL(icon.src, url));
      expect(r.status, icon.src).toBe(200);
      expect(r.headers.get('content-type'), icon.src).toBe(icon.type);
      if (icon.type === 'image/png') {
        const { width, height } = pngSize(Buffer.from(await r.arrayBuffer()));
        expect(`${width}x${height}`, icon.src).toBe(icon.sizes);
      }
      sizes.add(`${icon.sizes} ${icon.purpose ?? 'any'}`);
    }
    expect([...sizes]).toEqual(
      expect.arrayContaining(['192x192 any', '512x512 any', 'any any', '512x512 maskable']),
    );
  });

  it('Chromium reads it without errors and finds nothing stopping installation', async () => {
    // A profile on disk: Chromium never installs from an off-the-record context (Playwright's
    // newContext), and answers only "in-incognito" there without checking the rest.
    const profile = mkdtempSync(join(tmpdir(), 'gamemod-pwa-profile-'));
    const persistent = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ARGS,
      baseURL: rig.url,
    });
    try {
      const p = persistent.pages()[0] ?? (await persistent.newPage());
      await p.goto('/');
      await p.getByRole('heading', { name: 'Sign in to GameMod' }).waitFor();
      await p.evaluate('navigator.serviceWorker.ready.then(() => true)');
      const cdp = await persistent.newCDPSession(p);
      const manifest = (await cdp.send('Page.getAppManifest')) as {
        url: string;
        errors: { message: string }[];
      };
      expect(manifest.url).toBe(await manifestUrl());
      expect(manifest.errors).toEqual([]);
      const installability = (await cdp.send('Page.getInstallabilityErrors')) as {
        installabilityErrors: { errorId: string }[];
      };
      expect(installability.installabilityErrors).toEqual([]);
    } finally {
      await persistent.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

describe('service worker', () => {
  it('is served at the root with no-cache, the release filled in, and a CSP without unsafe-inline', async () => {
    const res = await fetch(`${rig.url}/sw.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const code = await res.text();
    const build = JSON.parse(code.match(/const BUILD = (\{.*\});/)?.[1] ?? 'null') as {
      release: string;
      shell: string[];
      offline: string;
    };
    expect(build.release).toMatch(/^[0-9a-f]{12}$/);
    expect(build.shell).toContain(`/panel/${build.release}/app.js`);
    expect(build.shell).toContain(`/panel/${build.release}/offline.html`);
    expect(build.shell.some((u) => u.startsWith('/panel/vendor/preact@'))).toBe(true);
    expect(build.shell.every((u) => u.startsWith('/panel/'))).toBe(true);
    // The page's CSP still has no unsafe-inline either (the manifest and worker needed none).
    const csp = (await fetch(`${rig.url}/`)).headers.get('content-security-policy') ?? '';
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("manifest-src 'self'");
  });

  it('a changed panel file is a new release and a changed worker, so the browser takes the new one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gamemod-panel-'));
    try {
      cpSync(join(process.cwd(), 'panel'), dir, { recursive: true });
      const before = loadPanel(dir);
      writeFileSync(join(dir, 'labels.js'), '// @ts-check\nexport const changed = true;\n', { flag: 'a' });
      const after = loadPanel(dir);
      expect(after.base).not.toBe(before.base);
      expect(after.serviceWorker.etag).not.toBe(before.serviceWorker.etag);
      expect(after.serviceWorker.identity.toString()).toContain(after.base);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("activates, controls the page, caches the release's files and never an API answer", async () => {
    await page.goto('/auth/demo?as=admin');
    await page.locator('ol.ticket-list > li').first().waitFor();
    // Scripts as strings: the page's globals are not in the tests' TypeScript library.
    const state = await page.evaluate(`(async () => {
      const reg = await navigator.serviceWorker.ready;
      const active = reg.active;
      // ready resolves once there is an active worker, possibly still activating.
      if (active.state === 'activating') {
        await new Promise((r) => active.addEventListener('statechange', r, { once: true }));
      }
      return { scope: reg.scope, active: reg.active && reg.active.state, script: reg.active && reg.active.scriptURL };
    })()`);
    expect(state).toEqual({ scope: `${rig.url}/`, active: 'activated', script: `${rig.url}/sw.js` });
    // A page loaded after activation is controlled (clients.claim also takes this one).
    await page.waitForFunction('navigator.serviceWorker.controller !== null');
    // Use the API a little through the controlled page, then look at what was cached.
    await page.locator('ol.ticket-list a').first().click();
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
    const cached = (await page.evaluate(`(async () => {
      const out = [];
      for (const key of await caches.keys()) {
        for (const req of await (await caches.open(key)).keys()) out.push(key + ' ' + new URL(req.url).pathname);
      }
      return out;
    })()`)) as string[];
    expect(cached.some((c) => /^gm-shell-[0-9a-f]{12} \/panel\/[0-9a-f]{12}\/app\.js$/.test(c))).toBe(true);
    expect(cached.filter((c) => !/^gm-shell-[0-9a-f]{12} \/panel\//.test(c))).toEqual([]);
  });

  it("reloading with the network gone shows the offline page, not Chromium's error page, and comes back by itself", async () => {
    const wanted = page.url();
    // The offline page asks /health 2 s after it opens (the browser's online event does not come
    // here): the page's clock is Playwright's, so those 2 s pass at once below.
    await page.clock.install();
    await ctx.setOffline(true);
    try {
      await page.reload();
      await page.getByRole('heading', { name: 'You are offline' }).waitFor();
      expect(page.url()).toBe(wanted);
      expect(await page.title()).toBe('Offline · GameMod');
      // Styled from the cache (the stylesheet's rules apply), and accessible.
      expect(await page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth")).not.toBe(
        'none',
      );
      expect(await seriousViolations(page)).toEqual([]);
      await shot(page, 'offline');
      // The API is never answered from a cache: offline, it simply fails.
      const session = await page.evaluate(
        "fetch('/auth/session').then((r) => 'answered ' + r.status, () => 'failed')",
      );
      expect(session).toBe('failed');
    } finally {
      await ctx.setOffline(false);
    }
    // The offline page reloads on its own when the network is back.
    await page.clock.runFor(2000);
    await page
      .getByRole('heading', { name: 'Conversation' })
      .waitFor({ timeout: 15_000 })
      .catch(async (err) => {
        const h1 = await page.locator('h1').allTextContents();
        throw new Error(`${err}; the page shows ${JSON.stringify(h1)} at ${page.url()}`);
      });
    // Chromium logs a 4xx as a console error: the 401 of GET /auth/session before signing in is
    // expected; so is the failed fetch made offline on purpose above. Nothing else.
    const expected = /status of 401 |ERR_INTERNET_DISCONNECTED|Failed to fetch/;
    expect(errors.filter((e) => !expected.test(e))).toEqual([]);
  });
});
