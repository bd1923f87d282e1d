import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../api/context.js';
import { describeProblem, lintOpenApi } from '../../api/openapi-lint.js';
import { API_TOKEN_SCOPES, SCOPE_PERMISSIONS } from '../../db/api-tokens.js';
import { useTestDb } from '../support/db.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let doc: OpenApi;
const tmp = mkdtempSync(join(tmpdir(), 'gamemod-openapi-client-'));

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses?: Record<string, { $ref?: string; description?: string; content?: Record<string, unknown> }>;
}
interface OpenApi {
  openapi: string;
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }>;
    // biome-ignore lint/suspicious/noExplicitAny: security schemes are read field by field
    securitySchemes: Record<string, any>;
  };
}

beforeAll(async () => {
  api = await startTestApi(db.app);
  const res = await api.app.inject({ method: 'GET', url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(async () => {
  await api?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );

/** `/v1/orgs/{orgId}` as the route was registered: `/v1/orgs/:orgId`. */
const routeUrl = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** The OAuth endpoints: form-encoded, authenticated as a client, refusing in RFC 6749's shape. */
const OAUTH_ENDPOINTS = new Set(['/v1/oauth/token', '/v1/oauth/revoke', '/v1/oauth/introspect']);

function expectedSecurity(access: Access | undefined, method: string, path = '') {
  // A client's id and secret by HTTP Basic, or as form fields (nothing OpenAPI can name).
  if (OAUTH_ENDPOINTS.has(path)) return [{ clientBasic: [] }, {}];
  if (access === 'public') return [];
  if (access === 'game-client' || access === 'game-server') return [{ gameKey: [] }];
  const session = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
    ? { session: [], csrf: [] }
    : { session: [] };
  if (access === 'session' || access === 'authenticated') return [session];
  if (access === 'caller' || access === undefined) return [session, { token: [] }, { oauth2: [] }];
  // An OAuth token needs one scope granting one of the permissions the route accepts.
  const accepted = typeof access.permission === 'string' ? [access.permission] : access.permission;
  const scopes = API_TOKEN_SCOPES.filter((s) =>
    SCOPE_PERMISSIONS[s].some((p) => (accepted as readonly string[]).includes(p)),
  );
  return [session, { token: [] }, ...scopes.map((s) => ({ oauth2: [s] }))];
}

describe('the OpenAPI document', () => {
  it('lints with 0 errors under Redocly recommended, and warns only where the API is what it is', async () => {
    const { errors, warnings } = await lintOpenApi(doc);
    expect(errors.map(describeProblem)).toEqual([]);
    // Known and meant: no licence is declared, the sign-in routes only redirect (no 2xx), and the
    // health probes can't answer a 4xx. Any other warning is a regression.
    const operationAt = (pointer: string) => {
      const [, , path = '', method = ''] = pointer.split('/');
      return doc.paths[path.replaceAll('~1', '/').replaceAll('~0', '~')]?.[method];
    };
    const unexpected = warnings.filter((w) => {
      const op = operationAt(w.location[0]?.pointer ?? '');
      if (w.ruleId === 'info-license') return false;
      if (w.ruleId === 'operation-2xx-response') {
        return !Object.keys(op?.responses ?? {}).some((status) => status.startsWith('3'));
      }
      if (w.ruleId === 'operation-4xx-response')
        return !['getHealth', 'getReadiness'].includes(op?.operationId ?? '');
      return true;
    });
    expect(unexpected.map(describeProblem)).toEqual([]);
  });

  it('is OpenAPI 3.1 with the server from PUBLIC_URL', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:3000' })]);
  });

  it('documents every route the app serves, bar public pages and the WebSocket', () => {
    const served = api.app.registeredRoutes.filter((r) => r.method !== 'HEAD');
    const documented = new Set(operations().map(({ method, path }) => `${method} ${routeUrl(path)}`));
    const servedKeys = new Set(served.map((r) => `${r.method} ${r.url}`));
    expect([...documented].filter((op) => !servedKeys.has(op))).toEqual([]);
    // Left out on purpose: public pages that are not API (the docs page, /metrics for Prometheus,
    // the panel's HTML), and /v1/live, which @fastify/websocket hides (its protocol is in
    // api/README.md). Anything else a client can call must be in the document.
    const missing = served
      .filter((r) => !documented.has(`${r.method} ${r.url}`))
      .filter((r) => r.access !== 'public' && r.url !== '/v1/live')
      .map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    expect(documented.size).toBeGreaterThan(100);
  });

  it('gives every operation a unique camelCase operationId, a summary and a described tag', () => {
    const tags = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
    const seen = new Map<string, string>();
    const wrong: string[] = [];
    for (const { method, path, op } of operations()) {
      const where = `${method} ${path}`;
      const id = op.operationId ?? '';
      if (!/^[a-z][a-zA-Z0-9]+$/.test(id)) wrong.push(`${where}: operationId "${id}"`);
      if (seen.has(id)) wrong.push(`${where}: operationId ${id} also on ${seen.get(id)}`);
      seen.set(id, where);
      if (!op.summary?.trim()) wrong.push(`${where}: no summary`);
      if (!op.tags?.length) wrong.push(`${where}: no tag`);
      for (const tag of op.tags ?? []) if (!tags.get(tag)) wrong.push(`${where}: tag ${tag} undescribed`);
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBeGreaterThan(100);
    // The names studios' generated clients are written against.
    for (const id of [
      'listTickets',
      'getTicket',
      'createTicket',
      'closeTicket',
      'replyToTicket',
      'listWebhookDeliveries',
      'replayWebhookDelivery',
      'rotateWebhookSecret',
    ]) {
      expect(seen.has(id), id).toBe(true);
    }
  });

  it("declares each operation's security from the access its route declares", () => {
    const access = new Map(api.app.registeredRoutes.map((r) => [`${r.method} ${r.url}`, r.access]));
    const wrong: string[] = [];
    for (const { method, path, op } of operations()) {
      const want = expectedSecurity(access.get(`${method} ${routeUrl(path)}`), method, path);
      if (JSON.stringify(op.security) !== JSON.stringify(want)) {
        wrong.push(`${method} ${path}: ${JSON.stringify(op.security)} != ${JSON.stringify(want)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(operations().find((o) => o.path === '/health')?.op.security).toEqual([]);
  });

  it('describes OAuth 2.0: client credentials and authorization code flows, with token and refresh URLs', () => {
    const oauth2 = doc.components.securitySchemes.oauth2;
    const base = 'http://127.0.0.1:3000';
    expect(oauth2.type).toBe('oauth2');
    expect(oauth2.flows.clientCredentials.tokenUrl).toBe(`${base}/v1/oauth/token`);
    expect(oauth2.flows.authorizationCode).toMatchObject({
      authorizationUrl: `${base}/v1/oauth/authorize`,
      tokenUrl: `${base}/v1/oauth/token`,
      refreshUrl: `${base}/v1/oauth/token`,
    });
    expect(Object.keys(oauth2.flows.authorizationCode.scopes).sort()).toEqual([...API_TOKEN_SCOPES].sort());
    expect(doc.components.securitySchemes.clientBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    const content = doc.paths['/v1/oauth/token']?.post?.requestBody?.content ?? {};
    expect(Object.keys(content)).toEqual(['application/x-www-form-urlencoded']);
    expect(content['application/x-www-form-urlencoded']?.schema).toBeDefined();
  });

  it('declares what every operation answers on success (only the two downloads are bytes, only the transcript a page)', () => {
    const success = (op: Operation) =>
      Object.entries(op.responses ?? {}).filter(([status]) => /^[123]/.test(status));
    const bytes = operations()
      .filter(({ op }) => success(op).some(([, answer]) => answer.content?.['application/octet-stream']))
      .map(({ method, path }) => `${method} ${path}`);
    // A route declaring no response schema is documented as a download: a new one must be meant.
    expect(bytes).toEqual(['GET /v1/files/{attachmentId}', 'GET /v1/player-exports/{exportId}']);
    const pages = operations()
      .filter(({ op }) => success(op).some(([, answer]) => answer.content?.['text/html']))
      .map(({ method, path }) => `${method} ${path}`);
    expect(pages).toEqual(['GET /v1/orgs/{orgId}/tickets/{ticketId}/transcript']);
    const none = operations().filter(({ op }) => success(op).length === 0);
    expect(none.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  it('answers every error with the one Error schema and says what each status means', () => {
    const wrong: string[] = [];
    const errorSchema = { $ref: '#/components/schemas/Error' };
    const oauthErrorSchema = { $ref: '#/components/schemas/OAuthError' };
    for (const { method, path, op } of operations()) {
      const responses = Object.entries(op.responses ?? {});
      if (!responses.some(([status]) => /^[45]/.test(status))) wrong.push(`${method} ${path}: no errors`);
      for (const [status, answer] of responses) {
        const resolved = answer.$ref
          ? doc.components.responses[answer.$ref.replace('#/components/responses/', '')]
          : answer;
        if (!resolved?.description || resolved.description === 'Default Response') {
          wrong.push(`${method} ${path} ${status}: no description`);
        }
        // /ready's 503 is its own report of the failing checks, not an error; the OAuth
        // endpoints refuse in RFC 6749 §5.2's shape, which OAuth client libraries parse.
        if (/^[45]/.test(status) && path !== '/ready') {
          const schema = (resolved?.content?.['application/json'] as { schema?: unknown } | undefined)
            ?.schema;
          const want = OAUTH_ENDPOINTS.has(path) && /^4/.test(status) ? oauthErrorSchema : errorSchema;
          if (JSON.stringify(schema) !== JSON.stringify(want))
            wrong.push(
              `${method} ${path} ${status}: not the ${OAUTH_ENDPOINTS.has(path) ? 'OAuthError' : 'Error'} schema`,
            );
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(doc.components.schemas.Error).toBeDefined();
  });
});

/** A few lines of typed fetch over the generated `paths`, the way a studio would write them. */
const CLIENT = `
import type { components, operations, paths } from './api.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type Success<O> = O extends { responses: infer R } ? Json<R[Extract<keyof R, 200 | 201>]> : never;
type PathParams<O> = O extends { parameters: { path: infer P } } ? P : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type Body<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export async function request<P extends keyof paths, M extends Method>(
  method: M,
  path: P,
  init: { path: PathParams<Op<P, M>>; query?: Query<Op<P, M>>; body?: Body<Op<P, M>>; token: string },
): Promise<Success<Op<P, M>>> {
  const url = String(path).replace(/\\{(\\w+)\\}/g, (_, k: string) =>
    encodeURIComponent(String((init.path as Record<string, unknown>)[k])),
  );
  const query = new URLSearchParams(
    Object.entries((init.query ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
  );
  const res = await fetch(\`https://gamemod.example\${url}?\${query}\`, {
    method: method.toUpperCase(),
    headers: { authorization: \`Bearer \${init.token}\`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) {
    const failure = (await res.json()) as components['schemas']['Error'];
    throw new Error(\`\${failure.error.code}: \${failure.error.message}\`);
  }
  return (await res.json()) as Success<Op<P, M>>;
}

export async function triage(orgId: string, token: string) {
  const created = await request('post', '/v1/orgs/{orgId}/tickets', {
    path: { orgId },
    body: { subject: 'Crash on start', priority: 'high', tags: ['crash'], customFields: { build: 412 } },
    token,
  });
  const status: 'open' | 'pending' | 'on_hold' | 'solved' | 'closed' = created.status;
  const number: number = created.number;

  const page = await request('get', '/v1/orgs/{orgId}/tickets', {
    path: { orgId },
    query: { status: ['open'], limit: 20, createdFrom: '2026-01-01T00:00:00Z' },
    token,
  });
  const first: components['schemas']['TicketListItem'] | undefined = page.tickets[0];
  const next: string | null = page.next;

  const counts = await request('get', '/v1/orgs/{orgId}/tickets/counts', { path: { orgId }, token });
  const open: number = counts.byStatus.open;

  const detail = await request('get', '/v1/orgs/{orgId}/tickets/{ticketId}', {
    path: { orgId, ticketId: created.id },
    token,
  });
  // Who a message speaks for: a participant has a player account too (authorType 'player').
  const fromPlayer = detail.messages.filter((m) => m.authorKind === 'player').length;
  // @ts-expect-error a message speaks for one of the listed kinds, not any string
  detail.messages.some((m) => m.authorKind === 'requester');

  type Reply = operations['replyToTicket']['requestBody'];
  const reply: NonNullable<Reply>['content']['application/json'] = { body: 'On it', status: 'pending' };

  // @ts-expect-error priority is one of the listed values, not any string
  await request('post', '/v1/orgs/{orgId}/tickets', { path: { orgId }, body: { subject: 'x', priority: 'asap' }, token });
  // @ts-expect-error a ticket has no such field
  created.assignee;
  // @ts-expect-error orgId is a path parameter of this route
  await request('get', '/v1/orgs/{orgId}/tickets', { path: {}, token });

  return { status, number, first, next, open, fromPlayer, reply };
}
`;

/** The same client with one misuse left unmarked: the check must catch it. */
const MISUSE = `
import type { operations } from './api.js';
type Create = NonNullable<operations['createTicket']['requestBody']>['content']['application/json'];
export const ticket: Create = { subject: 42 };
`;

describe('a typed client generated from the document', () => {
  it('is generated by openapi-typescript and type-checks a program that uses it, misuses caught', async () => {
    const source = astToString(await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0]));
    expect(source).toContain('createTicket');
    writeFileSync(join(tmp, 'api.d.ts'), source);
    writeFileSync(join(tmp, 'client.ts'), CLIENT);
    writeFileSync(join(tmp, 'misuse.ts'), MISUSE);
    const program = ts.createProgram([join(tmp, 'client.ts'), join(tmp, 'misuse.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      noUncheckedIndexedAccess: true,
    });
    const problems = (file: string) =>
      ts
        .getPreEmitDiagnostics(program, program.getSourceFile(join(tmp, file)))
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    // An unused @ts-expect-error is itself an error, so 0 here also proves each misuse is caught.
    expect(problems('client.ts')).toEqual([]);
    expect(problems('misuse.ts')).toEqual([
      expect.stringContaining("'number' is not assignable to type 'string'"),
    ]);
  });
});
