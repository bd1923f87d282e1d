import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from '../db/pool.js';
import type { Config } from '../lib/config.js';
import { gauge, registry } from '../lib/metrics.js';
import { sameSecret } from './plugins/auth.js';

/**
 * Where `/metrics` is served. With METRICS_PORT, only on its own listener (METRICS_HOST,
 * loopback by default), never on the public port. Without it, on the public port: open in
 * development and test, and in production only behind METRICS_TOKEN; a production public port
 * with neither answers 404, so process and traffic figures never leak by default.
 */
export function metricsOnPublicPort(config: Pick<Config, 'env' | 'metrics' | 'api'>): boolean {
  if (config.metrics.port !== undefined) return false;
  return config.env !== 'production' || config.api.metricsToken !== undefined;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Postgres pool gauges, shared with the API's /metrics (same metric, whoever serves it). */
export function poolGauge(pool: Pool) {
  const g = gauge('gamemod_db_pool_connections', 'Postgres pool connections by state', ['state']);
  return () => {
    g.set({ state: 'total' }, pool.totalCount);
    g.set({ state: 'idle' }, pool.idleCount);
    g.set({ state: 'waiting' }, pool.waitingCount);
  };
}

/**
 * The metrics listener for METRICS_PORT: `GET /metrics` in Prometheus text format (behind
 * `Authorization: Bearer <token>` when a token is given) and 404 for anything else. Plain
 * node:http: a scrape needs none of the API's plugins, and it serves whichever roles run in the
 * process (workers alone included).
 */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  token?: string | undefined;
  beforeCollect?: () => void;
}): Promise<MetricsServer> {
  const server = createServer(
    // A scrape is one small GET: slow clients get little time.
    { headersTimeout: 5_000, requestTimeout: 10_000, connectionsCheckingInterval: 1_000 },
    (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      if (opts.token && !sameSecret(req.headers.authorization ?? '', `Bearer ${opts.token}`)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end();
        return;
      }
      opts.beforeCollect?.();
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
      );
    },
  );
  server.setTimeout(30_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
