import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { fastHistogram, registry } from '../../lib/metrics.js';

describe('fastHistogram', () => {
  it("exports exactly what prom-client's histogram exports for the same observations", async () => {
    const name = 'gamemod_test_fast_histogram_seconds';
    const labelNames = ['method', 'route', 'status'];
    const fast = fastHistogram(name, 'Test histogram', labelNames);
    const reference = new Registry();
    const slow = new Histogram({
      name,
      help: 'Test histogram',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    const observations: Array<[Record<string, string>, number]> = [
      [{ method: 'GET', route: '/health', status: '200' }, 0.0004],
      [{ method: 'GET', route: '/health', status: '200' }, 0.005],
      [{ method: 'GET', route: '/health', status: '200' }, 0.3],
      [{ method: 'POST', route: '/v1/orgs/:orgId/tickets', status: '201' }, 0.02],
      [{ method: 'POST', route: '/v1/orgs/:orgId/tickets', status: '422' }, 12],
      [{ method: 'GET', route: 'with "quotes" and \\', status: '404' }, 0.07],
    ];
    for (const [labels, v] of observations) {
      fast.series(labels).observe(v);
      slow.labels(labels).observe(v);
    }
    expect(await registry.getSingleMetricAsString(name)).toBe(await reference.getSingleMetricAsString(name));
    // The same instance again for the same name: apps built twice in one process share it.
    expect(fastHistogram(name, 'Test histogram', labelNames)).toBe(fast);
    registry.removeSingleMetric(name);
  });
});
