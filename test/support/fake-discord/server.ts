import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  apiError,
  Errors,
  type FakeContext,
  type RestReply,
  type RestRequest,
  type UploadedFile,
} from './context.js';
import type { RequestRecord } from './log.js';
import type { Router } from './router.js';

const API_PREFIX = /^\/api(?:\/v(\d+))?(?=\/|$)/;

interface ParsedBody {
  body: unknown;
  files: UploadedFile[];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, form-encoded, or multipart with `payload_json` and `files[n]`, as @discordjs/rest sends. */
async function parseBody(raw: Buffer, contentType: string): Promise<ParsedBody | RestReply> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType.startsWith('application/json')) {
    try {
      return { body: JSON.parse(raw.toString('utf8')) as unknown, files: [] };
    } catch {
      return apiError(400, 50109, 'The request body contains invalid JSON.');
    }
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return { body: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), files: [] };
  }
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    let body: unknown = {};
    const files: UploadedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') {
          try {
            body = JSON.parse(value) as unknown;
          } catch {
            return apiError(400, 50109, 'The request body contains invalid JSON.');
          }
        }
      } else {
        files.push({ field, filename: value.name, size: value.size, contentType: value.type });
      }
    }
    return { body, files };
  }
  return { body: raw.toString('utf8'), files: [] };
}

function send(res: ServerResponse, reply: RestReply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  headers['Content-Type'] = 'application/json';
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

export function createFakeServer(fake: FakeContext, router: Router): Server {
  const server = createServer((req, res) => {
    handle(fake, router, req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, { status: 500, body: { code: 0, message: '500: Internal Server Error' } });
      fake.log.addRequest({
        method: req.method ?? 'GET',
        path: req.url ?? '',
        route: null,
        query: {},
        headers: {},
        body: String(err),
        status: 500,
        response: null,
        at: Date.now(),
        durationMs: 0,
      });
    });
  });
  // Node's default, as Discord keeps connections open too: undici reuses a socket only when the
  // server's keep-alive is over its 2 s threshold, so at 1 s every REST call opened a new TCP
  // connection. close() ends the idle ones (closeAllConnections).
  server.keepAliveTimeout = 5000;
  return server;
}

async function handle(
  fake: FakeContext,
  router: Router,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = Date.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const rawPath = url.pathname;
  const prefix = API_PREFIX.exec(rawPath);
  const apiPath = prefix ? rawPath.slice(prefix[0].length) || '/' : null;
  const contentType = String(req.headers['content-type'] ?? '');
  const raw = await readBody(req);
  const auditRaw = req.headers['x-audit-log-reason'];
  const auditReason = typeof auditRaw === 'string' ? safeDecode(auditRaw) : null;

  const headers: RequestRecord['headers'] = {};
  if (req.headers.authorization) headers.authorization = req.headers.authorization;
  if (contentType) headers['content-type'] = contentType;
  if (req.headers['user-agent']) headers['user-agent'] = req.headers['user-agent'];
  if (auditReason !== null) headers['x-audit-log-reason'] = auditReason;

  let routeTemplate: string | null = null;
  let body: unknown;

  const finish = (r: RestReply, opts: { loseAnswer?: boolean } = {}): void => {
    // FAKE_DISCORD_DEBUG=1 prints every refusal, the quickest way to see which permission a test lacks.
    if (process.env['FAKE_DISCORD_DEBUG'] && r.status >= 400)
      console.error('fake-discord refused', method, rawPath, r.status, JSON.stringify(r.body));
    if (opts.loseAnswer) res.socket?.destroy();
    else send(res, r);
    fake.log.addRequest({
      ...(opts.loseAnswer ? { answerLost: true as const } : {}),
      method,
      path: rawPath,
      route: routeTemplate,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
      status: r.status,
      response: r.body ?? null,
      at: started,
      durationMs: Date.now() - started,
    });
  };

  if (rawPath.startsWith('/cdn/')) {
    // Discord's CDN: the bytes themselves, or an injected fault (an expired or deleted file).
    const fault = fake.faults.take({ method, path: rawPath, route: null, status: 0, body: undefined });
    const file = fake.cdn.get(rawPath);
    if (fault || !file || method !== 'GET') {
      finish(fault ?? Errors.notFound());
      return;
    }
    res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': String(file.body.length) });
    res.end(file.body);
    fake.log.addRequest({
      method,
      path: rawPath,
      route: null,
      query: {},
      headers,
      body: undefined,
      status: 200,
      response: null,
      at: started,
      durationMs: Date.now() - started,
    });
    return;
  }
  const parsed = await parseBody(raw, contentType);
  if ('status' in parsed) {
    finish(parsed);
    return;
  }
  body = parsed.body;

  if (apiPath === null || (prefix?.[1] !== undefined && prefix[1] !== '10' && prefix[1] !== '9')) {
    finish(Errors.notFound());
    return;
  }
  const match = router.match(method, apiPath);
  if (!match) {
    finish(Errors.notFound());
    return;
  }
  if ('methodNotAllowed' in match) {
    finish(Errors.methodNotAllowed());
    return;
  }
  routeTemplate = match.route.template;

  const fault = fake.faults.take({ method, path: rawPath, route: routeTemplate, status: 0, body });
  if (fault) {
    finish(fault);
    return;
  }

  const authHeader = req.headers.authorization ?? '';
  let bearer: RestRequest['bearer'] = null;
  const botAuth = authHeader === `Bot ${fake.state.botToken}`;
  if (match.route.auth === 'bot' && !botAuth) {
    finish(Errors.unauthorized());
    return;
  }
  const overGlobal = botAuth ? fake.faults.takeGlobal(authHeader) : null;
  if (overGlobal) {
    finish(overGlobal);
    return;
  }
  if (match.route.auth === 'bot-or-bearer' && !botAuth) {
    bearer = authHeader.startsWith('Bearer ') ? fake.oauth2.lookup(authHeader.slice(7)) : null;
    if (!bearer) {
      finish(Errors.unauthorized());
      return;
    }
  }

  if (auditReason !== null) {
    fake.state.auditLog.push({
      guildId: match.params['guild_id'] ?? guildOfChannel(fake, match.params['channel_id']),
      route: `${method} ${routeTemplate}`,
      reason: auditReason,
      at: started,
    });
  }

  const request: RestRequest = {
    method,
    path: apiPath,
    params: match.params,
    query: url.searchParams,
    body,
    files: parsed.files,
    headers: req.headers,
    auditReason,
    bearer,
  };
  const reply = await match.route.handler(request, fake);
  finish(reply, {
    loseAnswer: fake.faults.takeLoss({ method, path: rawPath, route: routeTemplate, status: 0, body }),
  });
}

function guildOfChannel(fake: FakeContext, channelId: string | undefined): string | null {
  return channelId ? (fake.state.channels.get(channelId)?.guild_id ?? null) : null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
