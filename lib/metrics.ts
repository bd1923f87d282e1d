import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One Prometheus registry per process, shared by every role running in it, served by the API at
 * `/metrics`. The helpers return the already registered metric when called again with the same
 * name, because tests and the all-in-one process build apps and workers more than once.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'gamemod_process_' });

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function counter<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Counter<L> {
  return existing<Counter<L>>(name) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  collect?: (this: Gauge<L>) => void | Promise<void>,
): Gauge<L> {
  return (
    existing<Gauge<L>>(name) ??
    new Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) })
  );
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
): Histogram<L> {
  return (
    existing<Histogram<L>>(name) ?? new Histogram({ name, help, labelNames, buckets, registers: [registry] })
  );
}
