import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, gzip, gzipSync, constants as zlib } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_ROOT } from '../../lib/app-root.js';
import { AppError } from '../../lib/errors.js';
import { missingDiscordSettings } from './auth.js';
import { fromLoopback } from './demo-signin.js';

/**
 * The web panel (panel/): static ES modules with no build step, served from memory. Every file
 * is read and hashed once at startup and compressed (brotli and gzip) once per encoding, in the
 * background after the server listens or on its first request, so a request costs a map
 * look-up and answers with a Content-Length, an ETag and, for the panel's own files, a year of
 * cache: their URLs carry a hash of the whole panel folder (`/panel/<hash>/app.js`), so a new
 * release is a new URL and relative imports between the modules keep working without a bundler.
 * The libraries come from node_modules under their version (`/panel/vendor/preact@11.2.0/...`),
 * pinned by an import map: nothing from a CDN, so a self-hosted install works offline.
 */

const PANEL_DIR = join(APP_ROOT, 'panel');

/** The libraries the import map pins: specifier → package and file inside node_modules. */
const VENDOR = [
  { specifier: 'preact', pkg: 'preact', file: 'dist/preact.mjs' },
  { specifier: 'preact/hooks', pkg: 'preact', file: 'hooks/dist/hooks.mjs' },
  { specifier: 'htm', pkg: 'htm', file: 'dist/htm.mjs' },
  // Only the analytics page imports it (dynamically), so it stays off the inbox's first load.
  { specifier: 'uplot', pkg: 'uplot', file: 'dist/uPlot.esm.js' },
] as const;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.html': 'text/html; charset=utf-8',
};

/**
 * Files in panel/ that are source or documentation, not served as release files: the page and
 * the service worker are served filled in, at `/` and `/sw.js`.
 */
const NOT_SERVED = new Set(['.md', '.ts']);
const NOT_SERVED_NAMES = new Set(['index.html', 'tsconfig.json', 'sw.js']);

/** Release files that name other release files by absolute URL (`{{BASE}}`), filled at load. */
const TEMPLATED = new Set(['offline.html']);

/** The object panel/sw.js holds for the server to fill: the release id and what it caches. */
const SW_BUILD_SLOT = "const BUILD = { release: 'dev', shell: [], offline: '' };";

/** Paths that belong to the API: an unknown one there is a JSON 404, never the panel. */
const API_PREFIXES = ['/v1', '/auth', '/docs', '/sdk', '/health', '/ready', '/metrics', '/panel'];

const IMPORT_MAP_SLOT = '<script type="importmap">{"imports":{}}</script>';
const CONFIG_SLOT = '<script type="application/json" id="gm-config">{}</script>';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The entry module's preload link in index.html, which the whole static graph's links replace. */
const ENTRY_PRELOAD = '<link rel="modulepreload" href="{{BASE}}app.js" />';

/**
 * The specifiers a module imports statically (`import ... from 'x'`, `import 'x'`, `export ... from
 * 'x'`), minified or not. Dynamic `import('x')` is left out on purpose: what loads later (settings)
 * must not be fetched on the first load.
 */
export function staticImports(code: string): string[] {
  const found: string[] = [];
  const re = /(?:^|[;\s}])(?:import|export)\s*(?:[\w$*{},\s]+?\s*from\s*)?["']([^"']+)["']/g;
  for (const m of code.matchAll(re)) found.push(m[1] as string);
  return found;
}

/**
 * Every module the entry reaches through static imports, entry first, as URLs: the page lists
 * them all as `modulepreload` so the browser fetches the graph in one round instead of one round
 * per import depth (app.js, then inbox.js, then labels.js...).
 */
export function moduleGraph(
  entry: string,
  assets: Map<string, Asset>,
  imports: Record<string, string>,
): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const url = queue.shift() as string;
    const asset = assets.get(url);
    if (seen.has(url) || !asset) continue;
    seen.add(url);
    for (const spec of staticImports(asset.identity.toString('utf8'))) {
      const target = spec.startsWith('.') ? new URL(spec, `http://panel${url}`).pathname : imports[spec];
      if (target && !seen.has(target)) queue.push(target);
    }
  }
  return [...seen];
}

type Encoding = 'br' | 'gzip';

interface Asset {
  type: string;
  etag: string;
  identity: Buffer;
  /** Whether it is worth compressing; the encodings themselves are made once, when first needed. */
  compressible: boolean;
  encoded: Partial<Record<Encoding, Buffer>>;
  cache: string;
}

const hash = (b: Buffer | string, n = 16) => createHash('sha256').update(b).digest('hex').slice(0, n);

function makeAsset(body: Buffer, type: string, cache: string): Asset {
  // Small files gain nothing from compression and cost a header; text above 1 KB is compressed.
  const compressible = body.length > 1024 && !type.startsWith('image/png');
  return { type, etag: `"${hash(body)}"`, identity: body, compressible, encoded: {}, cache };
}

// The smallest output, since each file is compressed once per process: brotli at its highest
// quality takes a few hundred milliseconds for the largest file, which is why it is not done at
// startup (every app built by a test or a restarted process paid ~1.5 s for files it never served).
const BR = { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } };
const GZ = { level: 9 };

/** The asset in `encoding`, compressed now if the background pass has not reached it yet. */
function encodedAs(asset: Asset, encoding: Encoding): Buffer {
  asset.encoded[encoding] ??=
    encoding === 'br' ? brotliCompressSync(asset.identity, BR) : gzipSync(asset.identity, GZ);
  return asset.encoded[encoding];
}

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Compresses every asset in zlib's thread pool, one at a time, so first visits find them ready. */
async function precompress(assets: Iterable<Asset>, stopped: () => boolean): Promise<void> {
  for (const asset of assets) {
    if (!asset.compressible) continue;
    for (const encoding of ['br', 'gzip'] as const) {
      if (stopped()) return;
      if (asset.encoded[encoding]) continue;
      const out =
        encoding === 'br' ? await brotliAsync(asset.identity, BR) : await gzipAsync(asset.identity, GZ);
      asset.encoded[encoding] ??= out;
    }
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

function packageVersion(pkg: string): string {
  const json = JSON.parse(readFileSync(join(APP_ROOT, 'node_modules', pkg, 'package.json'), 'utf8'));
  return String(json.version);
}

export interface PanelBundle {
  /** `/panel/<hash>/`: where the panel's own modules live in this release. */
  base: string;
  assets: Map<string, Asset>;
  importMap: string;
  /** The CSP source that allows exactly the inline import map. */
  importMapHash: string;
  template: string;
  /** panel/sw.js with this release's id and files filled in, served at /sw.js. */
  serviceWorker: Asset;
}

/** Reads panel/ and the pinned libraries once; throws at startup if a file is missing. */
export function loadPanel(dir = PANEL_DIR): PanelBundle {
  const files = filesUnder(dir)
    .filter((f) => {
      const name = relative(dir, f);
      return !NOT_SERVED.has(extname(f)) && !NOT_SERVED_NAMES.has(name) && !name.startsWith('.');
    })
    .sort();
  const contents = files.map((f) => readFileSync(f));
  const release = hash(Buffer.concat(files.flatMap((f, i) => [Buffer.from(f), contents[i] as Buffer])), 12);
  const base = `/panel/${release}/`;
  const assets = new Map<string, Asset>();
  files.forEach((f, i) => {
    const name = relative(dir, f).split(sep).join('/');
    const body = TEMPLATED.has(name)
      ? Buffer.from((contents[i] as Buffer).toString('utf8').replaceAll('{{BASE}}', base))
      : (contents[i] as Buffer);
    assets.set(base + name, makeAsset(body, TYPES[extname(f)] ?? 'application/octet-stream', IMMUTABLE));
  });
  const imports: Record<string, string> = {};
  for (const v of VENDOR) {
    const url = `/panel/vendor/${v.pkg}@${packageVersion(v.pkg)}/${v.file}`;
    imports[v.specifier] = url;
    assets.set(
      url,
      makeAsset(
        readFileSync(join(APP_ROOT, 'node_modules', v.pkg, v.file)),
        TYPES['.js'] as string,
        IMMUTABLE,
      ),
    );
  }
  const importMap = JSON.stringify({ imports });
  // index.html holds valid placeholders (empty JSON) so linters can read it; they are filled here.
  const raw = readFileSync(join(dir, 'index.html'), 'utf8');
  for (const slot of [IMPORT_MAP_SLOT, CONFIG_SLOT, ENTRY_PRELOAD]) {
    if (!raw.includes(slot)) throw new Error(`panel/index.html lost its placeholder ${slot}`);
  }
  const preloads = moduleGraph(`${base}app.js`, assets, imports)
    .map((url) => `<link rel="modulepreload" href="${url}" />`)
    .join('\n    ');
  const template = raw.replace(ENTRY_PRELOAD, preloads).replaceAll('{{BASE}}', base);
  return {
    base,
    assets,
    importMap,
    importMapHash: `'sha256-${createHash('sha256').update(importMap).digest('base64')}'`,
    template,
    serviceWorker: serviceWorker(dir, release, [...assets.keys()], `${base}offline.html`),
  };
}

/**
 * panel/sw.js with the release filled in. The release id changes the worker's bytes, which is
 * how the browser learns of a new release (it compares them on each visit: `no-cache`).
 */
function serviceWorker(dir: string, release: string, shell: string[], offline: string): Asset {
  const raw = readFileSync(join(dir, 'sw.js'), 'utf8');
  if (!raw.includes(SW_BUILD_SLOT)) throw new Error(`panel/sw.js lost its placeholder ${SW_BUILD_SLOT}`);
  const build = JSON.stringify({ release, shell, offline });
  const code = raw.replace(SW_BUILD_SLOT, `const BUILD = ${build};`);
  return makeAsset(Buffer.from(code), TYPES['.js'] as string, 'no-cache');
}

/** What the page needs to know before its first request: which sign-in doors are open here. */
export interface PanelConfig {
  demoSignIn: boolean;
  discord: { configured: boolean; missing: string[] };
}

function panelConfig(app: FastifyInstance, req: FastifyRequest): PanelConfig {
  const missing = missingDiscordSettings(app.settings.discord);
  // The same test the demo route makes, so the button shows exactly when the door would open.
  return {
    demoSignIn: Boolean(app.settings.demoSignIn) && fromLoopback(req),
    discord: { configured: missing.length === 0, missing },
  };
}

/**
 * Same-origin everything; scripts only from this site plus the one inline import map by hash.
 * Images also from Discord's CDN and from the file storage's download origin: with S3, /v1/files
 * redirects to the bucket's presigned URL, and the browser checks that target against img-src.
 */
export function contentSecurityPolicy(importMapHash: string, storageOrigin?: string): string {
  const images = ["'self'", 'data:', 'https://cdn.discordapp.com', storageOrigin].filter(Boolean);
  return [
    "default-src 'none'",
    `script-src 'self' ${importMapHash}`,
    "style-src 'self'",
    `img-src ${images.join(' ')}`,
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(req: FastifyRequest, reply: FastifyReply, asset: Asset, csp: string) {
  reply
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
    .header('cache-control', asset.cache)
    .header('vary', 'accept-encoding')
    .type(asset.type);
  const accepts = String(req.headers['accept-encoding'] ?? '');
  const encoding: Encoding | null = !asset.compressible
    ? null
    : /\bbr\b/.test(accepts)
      ? 'br'
      : /\bgzip\b/.test(accepts)
        ? 'gzip'
        : null;
  const body = encoding ? encodedAs(asset, encoding) : asset.identity;
  // One ETag per encoding: a cache must not answer a gzip request with the brotli bytes.
  const etag = encoding ? `${asset.etag.slice(0, -1)}-${encoding}"` : asset.etag;
  reply.header('etag', etag);
  const match = req.headers['if-none-match'];
  if (match?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    return reply.status(304).send();
  }
  if (encoding) reply.header('content-encoding', encoding);
  // A Buffer body: Fastify sets Content-Length from it.
  return reply.send(body);
}

const hidden = { hide: true } as const;

/** A path as an error message may repeat it: short, so a long URL is never echoed back whole. */
const shown = (path: string) => (path.length > 80 ? `${path.slice(0, 80)}…` : path);

export async function panelRoutes(app: FastifyInstance, opts: { bundle?: PanelBundle } = {}) {
  const bundle = opts.bundle ?? loadPanel();
  const csp = contentSecurityPolicy(bundle.importMapHash, app.storage.downloadOrigin);
  // The page differs only by its config; one asset per variant, built on first use.
  const pages = new Map<string, Asset>();
  const page = (config: PanelConfig): Asset => {
    const key = JSON.stringify(config);
    let asset = pages.get(key);
    if (!asset) {
      const html = bundle.template
        .replace(IMPORT_MAP_SLOT, `<script type="importmap">${bundle.importMap}</script>`)
        // Inside a JSON script block only "<" could end it early; escape it.
        .replace(
          CONFIG_SLOT,
          `<script type="application/json" id="gm-config">${key.replaceAll('<', '\\u003c')}</script>`,
        );
      asset = makeAsset(Buffer.from(html), TYPES['.html'] as string, 'no-cache');
      pages.set(key, asset);
    }
    return asset;
  };
  const servePage = (req: FastifyRequest, reply: FastifyReply) =>
    send(req, reply, page(panelConfig(app, req)), csp);

  // A serving process compresses everything once it listens (an app only injected into, as in
  // most tests, never does); a file asked for before that is compressed on its first request.
  let closed = false;
  app.addHook('onListen', (done) => {
    precompress([...bundle.assets.values(), bundle.serviceWorker], () => closed).catch((err: unknown) =>
      app.log.warn({ err }, 'panel files could not be compressed ahead; they will be on first request'),
    );
    done();
  });
  app.addHook('onClose', (_app, done) => {
    closed = true;
    done();
  });

  app.get('/', { config: { access: 'public', rateLimit: 'none' }, schema: hidden }, servePage);

  // The worker's scope is the folder it is served from: at the root, it covers every panel page.
  app.get('/sw.js', { config: { access: 'public', rateLimit: 'none' }, schema: hidden }, (req, reply) =>
    send(req, reply, bundle.serviceWorker, csp),
  );

  app.get('/panel/*', { config: { access: 'public', rateLimit: 'none' }, schema: hidden }, (req, reply) => {
    const path = req.url.split('?')[0] as string;
    const asset = bundle.assets.get(path);
    if (!asset) throw new AppError('not_found', `no panel file ${shown(path)}`);
    return send(req, reply, asset, csp);
  });

  // Client-side routing: /tickets/42 reloaded in the browser must still get the page. API paths
  // and anything that looks like a file keep the JSON 404 of an unknown route.
  app.get('/*', { config: { access: 'public', rateLimit: 'none' }, schema: hidden }, (req, reply) => {
    const path = req.url.split('?')[0] as string;
    const api = API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
    if (api || extname(path) !== '') throw new AppError('not_found', `no route GET ${shown(path)}`);
    return servePage(req, reply);
  });
}
