import { analytics } from './analytics.js';
import { analyticsReads } from './analytics-reads.js';
import { api } from './api.js';
import { attachments } from './attachments.js';
import { botAck } from './bot-ack.js';
import { botMemory } from './bot-memory.js';
import { email } from './email.js';
import { faults } from './faults.js';
import type { Benchmark } from './lib/benchmark.js';
import { RunLog } from './lib/summary.js';
import { oauth } from './oauth.js';
import { outbox } from './outbox.js';
import { panel } from './panel.js';
import { retention } from './retention.js';
import { rules } from './rules.js';
import { sdk } from './sdk.js';
import { startup } from './startup.js';
import { tickets } from './tickets.js';
import { tracing } from './tracing.js';
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
  email,
  retention,
  analytics,
  rules,
  oauth,
  tracing,
  startup,
  analyticsReads,
  faults,
];

function usage(): string {
  const width = Math.max(...BENCHMARKS.map((b) => b.name.length));
  const names = BENCHMARKS.map((b) => `  ${b.name.padEnd(width)} ${b.description}`).join('\n');
  return `usage: npm run bench [-- [--json <file>] <name>...]\n\nbenchmarks:\n${names}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('-h') || args.includes('--help')) {
    console.log(usage());
    return 0;
  }
  // --json <file>: the whole run (every line, each verdict, the machine) written as JSON.
  const at = args.indexOf('--json');
  const jsonFile = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0 && !jsonFile) {
    console.error(`--json needs a file name\n\n${usage()}`);
    return 2;
  }
  const names = at >= 0 ? args.filter((_, k) => k !== at && k !== at + 1) : args;
  const unknown = names.filter((a) => !BENCHMARKS.some((b) => b.name === a));
  if (unknown.length) {
    console.error(`unknown benchmark: ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  const selected = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const run = new RunLog((msg) => console.log(msg));
  let broke = false;
  for (const b of selected) {
    console.log(`\n== ${b.name}: ${b.description}`);
    run.start(b.name);
    const started = Date.now();
    try {
      await b.run(run.log);
      run.finish((Date.now() - started) / 1000);
      console.log(`== ${b.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      // One broken benchmark does not stop the others; the run still exits 1 at the end.
      broke = true;
      run.finish((Date.now() - started) / 1000, err);
      console.error(`== ${b.name} broke:`, err);
    }
  }
  console.log(run.summary());
  if (jsonFile) {
    run.writeJson(jsonFile);
    console.log(`figures written to ${jsonFile}`);
  }
  return broke ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('benchmark failed:', err);
    process.exit(1);
  },
);
