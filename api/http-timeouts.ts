import type { ServerOptions } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * How long a client may take, so slow-drip connections (headers or a body sent a byte at a time)
 * can't hold the server open. Copied from the config (HTTP_*_TIMEOUT_MS) by server.ts.
 */
export interface HttpTimeouts {
  /** The request line and headers must all arrive within this (node's headersTimeout). */
  headersMs: number;
  /**
   * A JSON (or empty) request must arrive whole within this, headers included. Uploads (routes
   * with `rawBody`) are exempt: they have `uploadMs` instead, so a large file on a slow link is
   * not cut off by the limit meant for small bodies.
   */
  bodyMs: number;
  /** The whole of any request, uploads included (node's requestTimeout): the outer bound. */
  uploadMs: number;
  /** A connection with no bytes moving either way for this long is closed (socket timeout). */
  idleMs: number;
  /** An idle keep-alive connection between requests (above load balancers' usual 60 s). */
  keepAliveMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  bodyMs: 30_000,
  // 25 MiB (the attachment limit) in 10 minutes is about 45 KB/s, a poor mobile uplink.
  uploadMs: 600_000,
  idleMs: 60_000,
  keepAliveMs: 72_000,
};

/** The Fastify options that carry the timeouts to node's HTTP server. */
export function serverTimeoutOptions(t: HttpTimeouts) {
  const http: ServerOptions = {
    headersTimeout: t.headersMs,
    requestTimeout: t.uploadMs,
    keepAliveTimeout: t.keepAliveMs,
    // node checks the headers and request deadlines on this interval (30 s by default, which
    // would let a 10 s limit run to 40 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(t.headersMs / 4))),
  };
  return {
    // A WebSocket (/v1/live) leaves these behind at the upgrade: node stops timing the socket.
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.uploadMs,
    http,
  };
}

/**
 * The body deadline for everything but uploads: node's own deadline is per server, so it has to
 * be the uploads' generous one, and small bodies get theirs here. A request whose body has not
 * arrived by then gets a 408 and its connection closed.
 */
export function registerBodyTimeout(app: FastifyInstance, t: HttpTimeouts) {
  app.addHook('onRequest', (req: FastifyRequest, reply, done) => {
    const raw = req.raw;
    // No Content-Length and no Transfer-Encoding means no body (RFC 9112 6.3): nothing to wait
    // for, and no timer to set on the hot path of every GET.
    const hasBody =
      raw.headers['content-length'] !== undefined || raw.headers['transfer-encoding'] !== undefined;
    if (!hasBody || req.routeOptions.config?.rawBody || raw.complete) return done();
    const timer = setTimeout(() => {
      if (raw.complete || reply.sent) return;
      req.log.info({ bodyMs: t.bodyMs }, 'request body too slow; closing the connection');
      const socket = raw.socket;
      if (socket.writable)
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroySoon();
    }, t.bodyMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
    reply.raw.once('close', clear);
    done();
  });
}
