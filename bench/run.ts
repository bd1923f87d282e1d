import { analytics } from './analytics.js';
import { api } from './api.js';
import { attachments } from './attachments.js';
import { botAck } from './bot-ack.js';
import { botMemory } from './bot-memory.js';
import type { Benchmark } from './lib/benchmark.js';
import { outbox } from './outbox.js';
import { panel } from './panel.js';
import { sdk } from './sdk.js';
import { tickets } from './tickets.js';
import { webhooks } from './webhooks.js';

/** Every benchmark, in the order a bare `npm run bench` runs them. */
const BENCHMARKS: readonly Benchmark[] = [
  tickets,
  api,
  webhooks,
  outbox,
  attachments,
  botAck,
  botMemory,
  panel,
  sdk,
  analytics,
];

function usage(): string {
  const names = BENCHMARKS.map((b) => `  ${b.name.padEnd(12)} ${b.description}`).join('\n');
  return `usage: npm run bench [-- <name>...]\n\nbenchmarks:\n${names}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage());
    return 0;
  }
  const unknown = args.filter((a) => !BENCHMARKS.some((b) => b.name === a));
  if (unknown.length) {
    console.error(`unknown benchmark: ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  const selected = args.length ? BENCHMARKS.filter((b) => args.includes(b.name)) : BENCHMARKS;
  const log = (msg: string) => console.log(msg);
  for (const b of selected) {
    log(`\n== ${b.name}: ${b.description}`);
    const started = Date.now();
    await b.run(log);
    log(`== ${b.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('benchmark failed:', err);
    process.exit(1);
  },
);
