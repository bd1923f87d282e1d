import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/**
 * What a run printed, kept per benchmark: every line, and the verdicts among them (a line that
 * says PASS or FAIL against a target). The summary at the end lists the verdicts; `--json <file>`
 * writes the whole run, so figures can be compared over time.
 */
export interface BenchRecord {
  name: string;
  seconds: number;
  /** Set when the benchmark broke (a failed query, a cluster that did not start). */
  error?: string;
  verdicts: Array<{ line: string; pass: boolean }>;
  lines: string[];
}

export class RunLog {
  readonly records: BenchRecord[] = [];
  readonly startedAt = new Date();
  private current: BenchRecord | null = null;

  constructor(private readonly print: (msg: string) => void) {}

  start(name: string): void {
    this.current = { name, seconds: 0, verdicts: [], lines: [] };
    this.records.push(this.current);
  }

  /** The `log` a benchmark is given: prints the line and keeps it. */
  readonly log = (msg: string): void => {
    this.print(msg);
    const r = this.current;
    if (!r) return;
    for (const line of msg.split('\n')) {
      r.lines.push(line);
      const verdict = /\b(PASS|FAIL)\b/.exec(line);
      if (verdict) r.verdicts.push({ line: line.trim(), pass: verdict[1] === 'PASS' });
    }
  };

  finish(seconds: number, error?: unknown): void {
    if (!this.current) return;
    this.current.seconds = seconds;
    if (error !== undefined) this.current.error = error instanceof Error ? error.message : String(error);
    this.current = null;
  }

  /** The closing table: each benchmark's verdicts, and how many targets held. */
  summary(): string {
    const out = ['', '== summary'];
    let pass = 0;
    let fail = 0;
    for (const r of this.records) {
      if (r.error) {
        fail += 1;
        out.push(`  ${r.name}: BROKE (${r.error})`);
        continue;
      }
      if (r.verdicts.length === 0) out.push(`  ${r.name}: no target`);
      for (const v of r.verdicts) {
        if (v.pass) pass += 1;
        else fail += 1;
        out.push(`  ${r.name}: ${v.pass ? 'PASS' : 'FAIL'}  ${v.line}`);
      }
    }
    out.push(`== ${pass} targets met, ${fail} missed or broken`);
    return out.join('\n');
  }

  writeJson(file: string): void {
    const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? null, loadavg: loadavg() };
    const body = { startedAt: this.startedAt.toISOString(), machine, benchmarks: this.records };
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  }
}
