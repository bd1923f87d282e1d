/**
 * Every operation of the OpenAPI document at /docs/json, fed generated requests: bodies, query
 * strings and path parameters sampled from the operation's own schemas (openapi-sampler), then
 * mutated by fast-check (wrong types, missing and extra fields, huge strings, NUL, odd unicode,
 * extreme numbers, deep nesting, malformed JSON, wrong content types). The caller is the org's
 * owner (one case in five an all-scopes API token), with real ids of a seeded org in most cases, so requests get past access checks and,
 * often, validation, into the handlers and the database. Any 5xx fails the test, listing the
 * operation, the request, the response and the server's own log line for it.
 *
 * Every 4xx must also name its problem (`{ error: { code } }`; RFC 6749's `{ error }` on the
 * form-encoded OAuth endpoints).
 *
 * Each operation gets every mutation once in each part of the request it has (query, path
 * parameters, body), plus three valid requests, one of another content type and one malformed:
 * 14 to 32 cases, whose values (which field, what text, which number) come from the seed. Random
 * draws used to repeat the same mutation in the same place while missing others.
 *
 * Reproduce: the seed is fixed (FUZZ_SEED overrides it; the run prints it); FUZZ_RUNS=<n> draws n
 * random cases per operation instead (a longer hunt), FUZZ_OP keeps only the operations whose
 * operationId contains it, and FUZZ_SLOW=<ms> prints the requests slower than that.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { sample } from 'openapi-sampler';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { createSession } from '../../api/sessions.js';
import { API_TOKEN_SCOPES, createApiToken } from '../../db/api-tokens.js';
import { createGame, createGameKey } from '../../db/games.js';
import { redeemGuildLinkCode } from '../../db/guild-links.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_204);
/** Random cases per operation instead of the systematic set (unset: the systematic set). */
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;
const ONLY = process.env.FUZZ_OP;
const CONCURRENCY = 4;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>) {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let next = it.next(); !next.done; next = it.next()) await fn(next.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is untyped JSON
type Json = any;

const db = useTestDb();
let app: FastifyInstance;
let redis: Redis;
let storageDir: string;
let org: OrgFixture;
/** Server log lines by request id, to show what the server made of a failing request. */
const serverLog = new Map<string, string>();
/** Real ids of the seeded org, by path parameter name. */
const ids: Record<string, string> = {};

beforeAll(async () => {
  const { redisUrl } = inject('services');
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  storageDir = mkdtempSync(join(tmpdir(), 'gamemod-fuzz-files-'));
  const sink = new Writable({
    write(chunk, _enc, cb) {
      const line = JSON.parse(String(chunk)) as {
        reqId?: string;
        err?: { message?: string; stack?: string };
      };
      if (line.reqId && line.err) serverLog.set(line.reqId, line.err.stack ?? line.err.message ?? '');
      cb();
    },
  });
  app = await buildApp({
    pool: db.app,
    redis,
    logger: pino({ level: 'warn' }, sink),
    storage: new LocalStorage(storageDir),
    settings: {
      secretKey: randomBytes(32).toString('base64'),
      publicUrl: 'http://127.0.0.1:3000',
      // Nothing here may leave the machine: Discord is a closed loopback port.
      discord: { apiUrl: 'http://127.0.0.1:9/api', clientId: undefined, clientSecret: undefined },
    },
    // Thousands of requests from one owner: limits must not turn the run into a wall of 429s.
    rateLimits: {
      auth: { burst: 1_000_000, perMinute: 10_000_000 },
      default: { burst: 1_000_000, perMinute: 10_000_000 },
      // A case that signs the session out leaves the op's later cases failing authentication.
      authFailures: { burst: 1_000_000, perMinute: 10_000_000 },
      oauth: { burst: 1_000_000, perMinute: 10_000_000 },
    },
    sdkRateLimits: {
      key: { burst: 1_000_000, perMinute: 10_000_000 },
      player: { burst: 1_000_000, perMinute: 10_000_000 },
      address: { burst: 1_000_000, perMinute: 10_000_000 },
    },
  });
  await app.ready();
  org = await makeOrg(db.app, 'Fuzz');
}, 120_000);

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  if (storageDir) rmSync(storageDir, { recursive: true, force: true });
});

type Caller = { cookie: string; csrf: string } | { token: string } | { gameKey: string };

/** A fresh owner session that has passed TOTP (so an org that starts requiring it still lets us in). */
async function ownerSession(): Promise<Caller> {
  const { token, session } = await createSession(redis, org.ownerId, 'verified', {
    idleSeconds: 3600,
    absoluteSeconds: 3600,
    now: Date.now,
  });
  return { cookie: token, csrf: session.csrf };
}

/** An API token with every scope, made through db/ (the API can't give one more than its maker). */
async function allScopesToken(): Promise<Caller> {
  const { plaintext } = await withTenant(db.app, org.orgId, (tx) =>
    createApiToken(tx, { name: 'fuzz (all scopes)', scopes: [...API_TOKEN_SCOPES] }, { type: 'system' }),
  );
  return { token: plaintext };
}

/** A server secret of a game of the fuzzed org (the SDK routes' credential). */
async function gameSecret(): Promise<Caller> {
  const { plaintext } = await withTenant(db.app, org.orgId, async (tx) => {
    const g = await createGame(
      tx,
      { name: 'Fuzz game', slug: `fuzz-${randomBytes(4).toString('hex')}` },
      { type: 'system' },
    );
    return createGameKey(tx, { gameId: g.id, name: 'fuzz', kind: 'server' }, { type: 'system' });
  });
  return { gameKey: plaintext };
}

function call(who: Caller, o: InjectOptions & { url: string }) {
  const headers = { ...(o.headers as Record<string, string>) };
  if ('token' in who) headers.authorization = `Bearer ${who.token}`;
  else if ('gameKey' in who) headers['x-game-key'] = who.gameKey;
  else {
    headers.cookie = `gm_session=${who.cookie}`;
    headers['x-csrf-token'] = who.csrf;
  }
  return app.inject({ ...o, headers });
}

/**
 * Creates one of each resource through the API, so path parameters can name real rows. Each body
 * is the operation's own sample with a few fields made valid; a resource that can't be made only
 * means fewer cases reach that handler (the run says which).
 */
async function seed(doc: Json): Promise<string[]> {
  const who = await ownerSession();
  const base = `/v1/orgs/${org.orgId}`;
  ids.orgId = org.orgId;
  ids.userId = org.ownerId;
  const missing: string[] = [];
  const make = async (url: string, key: string, overrides: object = {}) => {
    const path = `${base}${url}`;
    const template = `/v1/orgs/{orgId}${url.replace(/\/[0-9a-f-]{36}/g, (m) => `/{${idName(m.slice(1))}}`)}`;
    const schema = doc.paths[template]?.post?.requestBody?.content?.['application/json']?.schema;
    const sampledBody = schema ? sampled(schema, doc, true) : {};
    const res = await call(who, { method: 'POST', url: path, payload: { ...sampledBody, ...overrides } });
    if (res.statusCode >= 300) missing.push(`${key} (${res.statusCode} ${res.body.slice(0, 200)})`);
    else {
      // Some creations answer `{ <thing>: { id }, secret }` (a secret shown once beside the row).
      const made = res.json();
      ids[key] = made.id ?? Object.values<Json>(made).find((v) => v && typeof v === 'object' && v.id)?.id;
    }
  };
  const idName = (value: string) => Object.keys(ids).find((k) => ids[k] === value) ?? 'id';
  await make('/tickets', 'ticketId', { subject: 'Fuzz ticket', tags: ['fuzz'] });
  await make(`/tickets/${ids.ticketId}/replies`, 'messageId', { body: 'a reply' });
  await make('/teams', 'teamId', { name: 'Fuzz team' });
  await make('/categories', 'categoryId', { name: 'Fuzz category' });
  await make('/canned-replies', 'replyId', { shortcut: 'fuzz', title: 'Fuzz', body: 'Hello {player}' });
  await make('/games', 'gameId', { name: 'Fuzz game', slug: 'fuzz-game' });
  await make(`/games/${ids.gameId}/keys`, 'keyId', { name: 'fuzz key' });
  await make('/roles', 'roleId', { key: 'fuzzer', name: 'Fuzzer', permissions: ['tickets.read'] });
  await make('/webhooks', 'subscriptionId', {
    url: 'https://93.184.215.14/hook',
    eventTypes: ['ticket.created'],
  });
  await make('/api-tokens', 'tokenId', { name: 'fuzz token', scopes: ['tickets:read'] });
  await make('/oauth-clients', 'oauthClientId', {
    name: 'Fuzz client',
    kind: 'confidential',
    scopes: ['tickets:read'],
    redirectUris: ['https://app.example.test/cb'],
  });
  await make('/sla/calendars', 'calendarId', {
    name: 'Fuzz hours',
    timezone: 'UTC',
    weeklyHours: { mon: [[540, 1080]] },
  });
  await make('/sla/policies', 'policyId', { name: 'Fuzz SLA', firstResponseMinutes: 60 });
  await make('/invites', 'inviteId', { discordUserId: '123456789012345678', role: 'agent' });
  // Players come from Discord, games and email, and guilds from the bot: made through db/ here.
  const player = await withTenant(db.app, org.orgId, (tx) =>
    upsertPlayer(tx, { discordUserId: '223456789012345678', displayName: 'Fuzz player' }),
  );
  ids.playerId = player.id;
  await make('/channels', 'channelId', { kind: 'player_dm', playerId: player.id });
  const link = await call(who, { method: 'POST', url: `${base}/guilds/link-codes`, payload: {} });
  if (link.statusCode === 201) {
    const guildId = '323456789012345678';
    await redeemGuildLinkCode(db.app, { code: link.json().code, guildId, guildName: 'Fuzz guild' });
    ids.guildId = guildId;
  } else missing.push(`guildId (${link.statusCode})`);
  const upload = await call(who, {
    method: 'POST',
    url: `${base}/tickets/${ids.ticketId}/attachments?filename=fuzz.txt`,
    payload: 'fuzz',
    headers: { 'content-type': 'text/plain' },
  });
  if (upload.statusCode === 201) ids.attachmentId = upload.json().id;
  else missing.push(`attachmentId (${upload.statusCode})`);
  return missing;
}

interface Operation {
  id: string;
  method: string;
  path: string;
  params: Array<{ name: string; in: string; required?: boolean; schema: Json }>;
  body: Json | undefined;
  /** The body is form-encoded (the OAuth endpoints, RFC 6749 §3.2). */
  form: boolean;
}

const FORM = 'application/x-www-form-urlencoded';

function operations(doc: Json): Operation[] {
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries<Json>(doc.paths)) {
    for (const [method, op] of Object.entries<Json>(byMethod)) {
      ops.push({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body:
          op.requestBody?.content?.['application/json']?.schema ?? op.requestBody?.content?.[FORM]?.schema,
        form: Boolean(op.requestBody?.content?.[FORM]),
      });
    }
  }
  // Reads first and deletes last, so the seeded rows are there for as many cases as possible.
  const order = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  return ops.sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
}

const KINDS = [
  'valid',
  'valid',
  'wrongType',
  'missing',
  'hugeString',
  'nul',
  'unicode',
  'number',
  'extra',
  'deep',
  'replace',
  'contentType',
  'malformed',
] as const;
type Kind = (typeof KINDS)[number];

const NASTY = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(50),
  '\u202e\u200b\ufeff',
  "'; drop table tickets; --",
  '%00',
  '../../etc/passwd',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '1e309',
  '-0',
  'NaN',
  'null',
  'true',
  '9'.repeat(40),
  '2026-02-30T25:61:61Z',
  '0001-01-01T00:00:00Z',
  '275760-09-13T00:00:00.001Z',
  'a'.repeat(10_000),
];
const NUMBERS = [-1, 0, -0.5, 0.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -1e308, 5e-324];
const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/octet-stream',
  'image/png',
  'application/json',
];
const MALFORMED = [
  '{',
  '{"a":',
  '[1,',
  'null',
  '""',
  '1e999',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '\ufeff{}',
  '{"a":1}{"b":2}',
  `${'['.repeat(100)}${']'.repeat(100)}`,
];

const caseArb = fc.record({
  realIds: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.7),
  target: fc.constantFrom('body', 'query', 'params'),
  kind: fc.constantFrom(...KINDS),
  pick: fc.nat(),
  optional: fc.nat(),
  json: fc.jsonValue({ maxDepth: 3 }),
  text: fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom(...NASTY),
  ),
  number: fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(...NUMBERS),
  ),
  depth: fc.integer({ min: 2, max: 200 }),
  size: fc.integer({ min: 1_000, max: 300_000 }),
  contentType: fc.constantFrom(...CONTENT_TYPES),
  malformed: fc.constantFrom(...MALFORMED),
  key: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'id', 'orgId')),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** What a mutation changes, besides the valid, wrong content type and malformed cases. */
const MUTATIONS = KINDS.filter((k) => k !== 'valid' && k !== 'contentType' && k !== 'malformed');

/**
 * The cases of one operation: each mutation in each part of the request the operation has (the
 * query always: unknown parameters are input too), the valid request with real ids (with only
 * its required fields and with all of them) and with sampled ids, a wrong content type and a
 * malformed body. The seeded draws fill in the rest (which field, the text, the number, the key).
 */
function systematicCases(op: Operation, seed: number): Case[] {
  const parts: Case['target'][] = ['query'];
  if (op.params.some((p) => p.in === 'path')) parts.push('params');
  if (op.body || op.id === 'uploadTicketAttachment') parts.push('body');
  const plan: Array<
    Pick<Case, 'kind' | 'target'> & { realIds?: boolean; optional?: number; token?: boolean }
  > = [
    { kind: 'valid', target: 'body', realIds: true, optional: 1 },
    { kind: 'valid', target: 'body', realIds: true, optional: 0, token: true },
    { kind: 'valid', target: 'body', realIds: false },
    { kind: 'contentType', target: 'body' },
    { kind: 'malformed', target: 'body' },
    ...parts.flatMap((target) => MUTATIONS.map((kind) => ({ kind, target }))),
  ];
  const drawn = fc.sample(caseArb, { seed, numRuns: plan.length });
  return plan.map((p, i) => {
    const c = { ...(drawn[i] as Case), kind: p.kind, target: p.target };
    if (p.realIds !== undefined) c.realIds = p.realIds;
    // Bit 0 of `optional` says whether the body keeps only its required fields.
    if (p.optional !== undefined) c.optional = (c.optional & ~1) | p.optional;
    // A pick that is a multiple of 5 sends the case with the all-scopes API token.
    if (p.token) c.pick -= c.pick % 5;
    return c;
  });
}

function sampled(schema: Json, doc: Json, skipNonRequired = false): Json {
  try {
    return noHostNames(sample(schema, { skipReadOnly: true, skipNonRequired, quiet: true }, doc));
  } catch {
    return undefined;
  }
}

/**
 * The sampler's URLs name example.com; webhook targets are resolved to be checked, and a test
 * must not wait on DNS. A public address literal passes the same check without a lookup.
 */
function noHostNames(v: Json): Json {
  if (typeof v === 'string')
    return v.replace(/^(https?:\/\/)example\.com/, (_, scheme: string) => `${scheme}93.184.215.14`);
  if (Array.isArray(v)) return v.map(noHostNames);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, noHostNames(x)]));
}

/** Every place inside a value (the root included) as a path of keys. */
function places(v: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(at);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) places(x, [...at, i], out);
  } else if (v && typeof v === 'object') for (const k of Object.keys(v)) places(v[k], [...at, k], out);
  return out;
}

function setAt(root: Json, path: Array<string | number>, value: Json): Json {
  if (path.length === 0) return value;
  let parent = root;
  for (const k of path.slice(0, -1)) parent = parent[k];
  parent[path[path.length - 1] as string] = value;
  return root;
}

function deleteAt(root: Json, path: Array<string | number>): Json {
  if (path.length === 0) return undefined;
  let parent = root;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1] as string | number;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return root;
}

const nest = (depth: number, inner: Json): Json => {
  let v = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

/** `value` with every field named like a seeded id (`teamId`, `playerId`...) set to that real id. */
function withRealIds(value: Json): Json {
  if (Array.isArray(value)) return value.map(withRealIds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, typeof v === 'string' && ids[k] ? ids[k] : withRealIds(v)]),
  );
}

/** Mutates `value` (a body, or the object of query or path parameters) the way `c` says. */
function mutate(value: Json, c: Case): Json {
  const v = structuredClone(value ?? {});
  const all = places(v);
  const path = all[c.pick % all.length] as Array<string | number>;
  const strings = all.filter((p) => typeof p.reduce((o: Json, k) => o?.[k], v) === 'string');
  const stringPath = strings.length ? strings[c.pick % strings.length] : path;
  switch (c.kind as Kind) {
    case 'wrongType':
      return setAt(v, path, c.json);
    case 'missing':
      return deleteAt(v, path);
    case 'hugeString':
      return setAt(v, stringPath ?? path, 'x'.repeat(c.size));
    case 'nul':
      return setAt(v, stringPath ?? path, `a\u0000${c.text}`);
    case 'unicode':
      return setAt(v, stringPath ?? path, c.text);
    case 'number':
      return setAt(v, path, c.number);
    case 'extra':
      if (v && typeof v === 'object' && !Array.isArray(v)) v[c.key] = c.json;
      return v;
    case 'deep':
      return setAt(v, path, nest(c.depth, c.json));
    case 'replace':
      return c.json;
    default:
      return v;
  }
}

function queryString(query: Record<string, Json>): string {
  const qs = new URLSearchParams();
  for (const [k, val] of Object.entries(query ?? {})) {
    if (val === undefined) continue;
    const list = Array.isArray(val) ? val : [val];
    for (const item of list) {
      qs.append(k, item !== null && typeof item === 'object' ? JSON.stringify(item) : String(item));
    }
  }
  const s = qs.toString();
  return s ? `?${s}` : '';
}

interface Built {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

function build(op: Operation, c: Case, doc: Json): Built {
  const params: Record<string, Json> = {};
  const query: Record<string, Json> = {};
  const headers: Record<string, string> = {};
  op.params.forEach((p, i) => {
    if (p.in === 'path') {
      params[p.name] = c.realIds && ids[p.name] ? ids[p.name] : sampled(p.schema, doc);
    } else if (p.in === 'query' && (p.required || (c.optional >> i) & 1)) {
      query[p.name] = sampled(p.schema, doc);
    } else if (p.in === 'header' && (c.optional >> i) & 1) {
      headers[p.name] = `fuzz-${c.pick}`;
    }
  });
  // Half the cases start from the smallest body the schema allows: sampled optional fields
  // (random ids of rows that don't exist) would keep most of them from ever succeeding.
  let body: Json = op.body ? sampled(op.body, doc, (c.optional & 1) === 1) : undefined;
  if (c.realIds) body = withRealIds(body);
  let payload: string | Buffer | undefined;
  let contentType = 'application/json';
  if (c.kind !== 'valid' && c.kind !== 'contentType' && c.kind !== 'malformed') {
    // A URL over HTTP stops at Node's 16 KB header limit (431); inject has none, so stay under it.
    const urlCase = { ...c, size: Math.min(c.size, 8_000) };
    const asObject = (v: Json, fallback: string) =>
      v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { [fallback]: v };
    if (c.target === 'params' && Object.keys(params).length) {
      const names = Object.keys(params);
      Object.assign(params, asObject(mutate(params, urlCase), names[c.pick % names.length] as string));
    } else if (c.target === 'query') {
      const mutated = asObject(mutate(query, urlCase), c.key || 'q');
      for (const k of Object.keys(query)) delete query[k];
      Object.assign(query, mutated);
    } else body = mutate(body, c);
  }
  if (op.id === 'uploadTicketAttachment') {
    // The file is the body: any bytes, of an allowed type or not.
    contentType = c.kind === 'valid' ? 'text/plain' : c.contentType;
    payload = c.kind === 'hugeString' ? Buffer.alloc(c.size, 0x61) : Buffer.from(String(c.text || 'x'));
    query.filename ??= 'fuzz.txt';
  } else if (c.kind === 'malformed') payload = c.malformed;
  else if (op.form && body !== null && typeof body === 'object' && !Array.isArray(body)) {
    // Form fields are strings: whatever the mutation made of a value is sent as its text.
    const fields = Object.entries<Json>(body).map(([k, v]): [string, string] => [
      k,
      v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v),
    ]);
    payload = new URLSearchParams(fields).toString();
    contentType = FORM;
  } else if (body !== undefined || op.body) payload = JSON.stringify(body ?? null) ?? 'null';
  if (c.kind === 'contentType') contentType = c.contentType;
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    // A URL can only carry well-formed text: lone surrogates become U+FFFD, as in any client.
    encodeURIComponent(Buffer.from(String(params[name] ?? 'x')).toString()),
  );
  if (payload !== undefined) headers['content-type'] = contentType;
  return { method: op.method, url: `${path}${queryString(query)}`, headers, payload };
}

/** A djb2 hash, so each operation has its own stable seed whatever else the document holds. */
function hash(s: string): number {
  let h = 5381;
  for (let i = 0; i < s.length; i++) h = ((h * 33) ^ s.charCodeAt(i)) >>> 0;
  return h;
}

/**
 * Every 4xx names its problem: `{ error: { code } }`, or on the OAuth endpoints RFC 6749 §5.2's
 * `{ error, error_description }`, the shape OAuth client libraries parse.
 */
function hasErrorCode(body: string, op: Operation): boolean {
  try {
    const parsed = JSON.parse(body);
    if (op.form) return typeof parsed?.error === 'string';
    return typeof parsed?.error?.code === 'string';
  } catch {
    return false;
  }
}

const show = (s: string | Buffer | undefined, max = 600) => {
  if (s === undefined) return '(none)';
  const text = typeof s === 'string' ? s : s.toString('utf8');
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
};

const PLAN = RUNS === undefined ? 'each mutation in each part' : `${RUNS} random cases each`;

it(`answers every operation's generated requests without a 5xx (seed ${SEED}, ${PLAN})`, async () => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  const unseeded = await seed(doc);
  if (unseeded.length) console.info(`not seeded (their ids are sampled instead): ${unseeded.join('; ')}`);
  const ops = operations(doc).filter((op) => !ONLY || op.id.includes(ONLY));
  expect(ops.length).toBeGreaterThan(ONLY ? 0 : 100);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const started = Date.now();
  const slowest: Array<[string, number]> = [];
  const succeeded = new Set<string>();
  let sent = 0;
  for (const op of ops) {
    const opStarted = Date.now();
    const who = await ownerSession();
    const token = await allScopesToken();
    // The /sdk/v1 routes take a game key instead: a server secret reaches all of them.
    const game = op.path.startsWith('/sdk/') ? await gameSecret() : undefined;
    const cases =
      RUNS === undefined
        ? systematicCases(op, SEED ^ hash(op.id))
        : fc.sample(caseArb, { seed: SEED ^ hash(op.id), numRuns: RUNS });
    sent += cases.length;
    // A few cases at a time: requests wait on Postgres and Redis, so this overlaps the waits.
    await pool(cases.entries(), CONCURRENCY, async ([n, c]) => {
      const req = build(op, c, doc);
      let res: LightMyRequestResponse;
      const t0 = Date.now();
      try {
        // One case in five as an all-scopes API token: the other door into the same routes.
        res = await call(game ?? (c.pick % 5 === 0 ? token : who), {
          ...req,
          method: req.method as InjectOptions['method'],
        });
      } catch (err) {
        failures.push(
          `${op.id} case ${n} (${c.kind}): inject threw ${String(err)}\n  ${req.method} ${req.url}`,
        );
        return;
      }
      if (process.env.FUZZ_SLOW && Date.now() - t0 > Number(process.env.FUZZ_SLOW)) {
        console.info(
          `slow ${Date.now() - t0} ms: ${op.id} ${c.kind}/${c.target} ${req.method} ${req.url.slice(0, 120)} → ${res.statusCode} (${show(req.payload, 80)})`,
        );
      }
      if (res.statusCode < 300) succeeded.add(op.id);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 400 && res.statusCode < 500 && !hasErrorCode(res.body, op)) {
        failures.push(
          `${op.id} case ${n} (${c.kind}): a ${res.statusCode} without { error: { code } }\n  ${req.method} ${req.url.slice(0, 300)}\n  response ${show(res.body)}`,
        );
      }
      // 501 is an honest "this deployment has not set that up" (Discord sign-in without a client id).
      const notConfigured = res.statusCode === 501 && res.body.includes('"not_configured"');
      if (res.statusCode >= 500 && !notConfigured) {
        const reqId = String(res.headers['x-request-id'] ?? /request ([\w-]+)/.exec(res.body)?.[1] ?? '');
        failures.push(
          [
            `${op.id} case ${n} (${c.kind} on ${c.target}, real ids: ${c.realIds}) → ${res.statusCode}`,
            `  ${req.method} ${req.url.length > 300 ? `${req.url.slice(0, 300)}…` : req.url}`,
            `  headers ${JSON.stringify(req.headers)}`,
            `  body ${show(req.payload)}`,
            `  response ${show(res.body)}`,
            `  server ${(serverLog.get(reqId) ?? '(no log line)').split('\n').slice(0, 6).join('\n    ')}`,
          ].join('\n'),
        );
      }
    });
    slowest.push([op.id, Date.now() - opStarted]);
  }
  slowest.sort((a, b) => b[1] - a[1]);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const summary = `seed ${SEED}: ${ops.length} operations, ${sent} cases (${PLAN}) in ${seconds}s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; slowest ${slowest
    .slice(0, 5)
    .map(([id, ms]) => `${id} ${ms} ms`)
    .join(', ')}`;
  console.info(summary);
  const never = ops.filter((op) => !succeeded.has(op.id)).map((op) => op.id);
  console.info(`operations with no 2xx case (${never.length}): ${never.join(', ')}`);
  // A run that never gets in (a broken session, a rate limit) would pass while testing nothing.
  if (!ONLY) {
    expect(succeeded.size, 'operations with at least one 2xx').toBeGreaterThan(ops.length * 0.6);
    expect(statuses.get(401) ?? 0, 'requests refused as unauthenticated').toBeLessThan(sent * 0.05);
  }
  expect(
    failures,
    `${failures.length} 5xx (reproduce with FUZZ_SEED=${SEED}${RUNS === undefined ? '' : ` FUZZ_RUNS=${RUNS}`}, and FUZZ_OP=<operationId> for one operation):\n\n${failures.slice(0, 40).join('\n\n')}`,
  ).toEqual([]);
}, 300_000);
