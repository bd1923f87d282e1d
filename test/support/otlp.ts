import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What the tracing tests share: a loopback OTLP/HTTP receiver, a webhook target, free ports and
 * a poll. Spans arrive as the JSON encoding of OTLP/HTTP carries them (ids in hex).
 */

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  events?: Array<{ name: string; attributes?: Array<{ key: string; value: Record<string, unknown> }> }>;
  status?: { code?: number; message?: string };
}
export interface Exported {
  service: string | undefined;
  span: OtlpSpan;
}

export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

/** The first of `keys` the span has (the old and the stable HTTP semantic conventions differ). */
export function attr(span: { attributes?: OtlpSpan['attributes'] }, ...keys: string[]): unknown {
  for (const key of keys) {
    const v = span.attributes?.find((a) => a.key === key)?.value;
    if (v) return Object.values(v)[0];
  }
  return undefined;
}

/** A loopback OTLP/HTTP receiver: every span POSTed to /v1/traces, with its service name. */
export async function startOtlpReceiver(): Promise<{ url: string; spans: Exported[]; server: Server }> {
  const spans: Exported[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (
        req.method !== 'POST' ||
        req.url !== '/v1/traces' ||
        !req.headers['content-type']?.includes('json')
      ) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: Array<{
          resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ spans: OtlpSpan[] }>;
        }>;
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ service, span });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

/** A webhook target on loopback that records each request's headers and answers 200. */
export async function startWebhookTarget(): Promise<{
  url: string;
  received: IncomingHttpHeaders[];
  server: Server;
}> {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(req.headers);
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

export async function until<T>(
  what: string | (() => string),
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(100);
  }
}

/** The span's ancestors within `trace`, itself first. */
export function chainOf(trace: readonly Exported[], span: OtlpSpan | undefined): OtlpSpan[] {
  const chain: OtlpSpan[] = [];
  let hop = span;
  while (hop && chain.length < 100) {
    chain.push(hop);
    const parent: string | undefined = hop.parentSpanId;
    hop = trace.find((e) => e.span.spanId === parent)?.span;
  }
  return chain;
}
