import { performance } from 'node:perf_hooks';

export interface RoundResult {
  ops: number;
  seconds: number;
  tps: number;
  p50Ms: number;
  p99Ms: number;
}

/** The q-quantile (0..1) of `sorted`, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * Runs `concurrency` loops, each calling `op(loopIndex)` back to back until `durationMs` has
 * passed, and measures throughput and per-operation latency. Any failed operation fails the round.
 */
export async function runRound(
  concurrency: number,
  durationMs: number,
  op: (loop: number) => Promise<unknown>,
): Promise<RoundResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  const loop = async (i: number) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ops: latencies.length,
    seconds,
    tps: latencies.length / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
}

/** The median of each figure over several rounds. */
export function medianOf(rounds: readonly RoundResult[]): RoundResult {
  return {
    ops: median(rounds.map((r) => r.ops)),
    seconds: median(rounds.map((r) => r.seconds)),
    tps: median(rounds.map((r) => r.tps)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
  };
}

export const fmtTps = (n: number) => `${n.toFixed(0).padStart(6)} tx/s`;
export const fmtMs = (n: number) => `${n.toFixed(2).padStart(6)} ms`;
export const fmtRound = (r: RoundResult) =>
  `${fmtTps(r.tps)}  p50 ${fmtMs(r.p50Ms)}  p99 ${fmtMs(r.p99Ms)}  (${r.ops} in ${r.seconds.toFixed(1)} s)`;
