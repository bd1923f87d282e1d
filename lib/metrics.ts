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

/** One labelled series of a `fastHistogram`: observe it as often as needed, for a few additions. */
export interface HistogramSeries {
  observe(value: number): void;
}

interface Series extends HistogramSeries {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram for the hottest path (every API request), exported like prom-client's in the same
 * registry: `series(labels)` is looked up once per label set by the caller, and observing it
 * only finds the bucket and adds. prom-client's `labels(...).observe()` checks the label names
 * and builds the label hash again on every call.
 */
class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private all = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {}

  series(labels: Record<string, string>): HistogramSeries {
    const key = this.labelNames.map((l) => labels[l] ?? '').join('\u0000');
    let s = this.all.get(key);
    if (!s) {
      const buckets = this.buckets;
      const series: Series = {
        labels: { ...labels },
        counts: buckets.map(() => 0),
        sum: 0,
        count: 0,
        observe(value: number) {
          for (let i = 0; i < buckets.length; i++) {
            if (value <= (buckets[i] as number)) {
              (series.counts[i] as number)++;
              break;
            }
          }
          series.sum += value;
          series.count++;
        },
      };
      s = series;
      this.all.set(key, s);
    }
    return s;
  }

  /** In prom-client's shape for its text format: `le` first, then the series' labels. */
  getForPromString() {
    const values: Array<{
      labels: Record<string, string | number>;
      sharedLabels: Record<string, string>;
      value: number;
      metricName: string;
    }> = [];
    for (const s of this.all.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({
          labels: { le },
          sharedLabels: s.labels,
          value: acc,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: s.labels,
        value: s.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  get() {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, ...v }) => ({
        ...v,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  reset() {
    for (const s of this.all.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

export function fastHistogram(
  name: string,
  help: string,
  labelNames: readonly string[],
  buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
): { series(labels: Record<string, string>): HistogramSeries } {
  const found = existing<FastHistogram>(name);
  if (found) return found;
  const h = new FastHistogram(name, help, labelNames, buckets);
  registry.registerMetric(h as never);
  return h;
}
