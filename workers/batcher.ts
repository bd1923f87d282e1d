/**
 * Collects calls made within a few milliseconds and runs them as one batch. The delivery worker
 * runs many attempts at once; batching their database reads and writes per organization turns
 * hundreds of small transactions a second into a few larger ones.
 *
 * `run` returns one result per key, in order; an `Error` in a slot rejects only that caller.
 */
export function batcher<K, V>(
  run: (keys: K[]) => Promise<Array<V | Error>>,
  opts: { maxWaitMs?: number; maxSize?: number } = {},
): (key: K) => Promise<V> {
  const maxWaitMs = opts.maxWaitMs ?? 2;
  const maxSize = opts.maxSize ?? 100;
  let queue: Array<{ key: K; resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    const batch = queue;
    queue = [];
    if (timer) clearTimeout(timer);
    timer = undefined;
    run(batch.map((b) => b.key)).then(
      (values) => {
        batch.forEach((b, i) => {
          const v = values[i];
          if (v instanceof Error) b.reject(v);
          else if (v === undefined && i >= values.length)
            b.reject(new Error('batch returned too few results'));
          else b.resolve(v as V);
        });
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
  };
  return (key) =>
    new Promise<V>((resolve, reject) => {
      queue.push({ key, resolve, reject });
      if (queue.length >= maxSize) flush();
      else timer ??= setTimeout(flush, maxWaitMs);
    });
}

/** Runs `fn` once per group of keys (by `groupOf`) and puts the results back in key order. */
export async function perGroup<K, V>(
  keys: readonly K[],
  groupOf: (k: K) => string,
  fn: (group: string, keys: K[]) => Promise<V[]>,
): Promise<Array<V | Error>> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = groupOf(k);
    const list = groups.get(g) ?? [];
    list.push(i);
    groups.set(g, list);
  });
  const out: Array<V | Error> = new Array(keys.length);
  await Promise.all(
    [...groups].map(async ([g, idx]) => {
      try {
        const values = await fn(
          g,
          idx.map((i) => keys[i] as K),
        );
        idx.forEach((i, j) => {
          out[i] = values[j] as V;
        });
      } catch (err) {
        for (const i of idx) out[i] = err instanceof Error ? err : new Error(String(err));
      }
    }),
  );
  return out;
}
