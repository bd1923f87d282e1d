import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';

/**
 * Rules over GitHub workflow files: schema validity (action-validator, offline) and the order a
 * deploy must keep: nothing deploys before the tests pass, the migration job runs (and finishes)
 * before any revision takes traffic, and traffic that moves can move back.
 */

export interface Step {
  name?: string;
  id?: string;
  if?: string;
  run?: string;
  uses?: string;
}

export interface Job {
  needs?: string | string[];
  uses?: string;
  steps?: Step[];
  if?: string;
}

export interface Workflow {
  on?: unknown;
  jobs: Record<string, Job>;
}

export function parseWorkflow(text: string): Workflow {
  return parse(text) as Workflow;
}

type ValidationError = ReturnType<typeof validateWorkflow>['errors'][number];

/** Schema errors, as "path: title (detail)", with the alternatives a oneOf tried indented. */
export function schemaErrors(text: string): string[] {
  const flat = (e: ValidationError, depth: number): string[] => [
    `${'  '.repeat(depth)}${'path' in e ? e.path : ''}: ${e.title}${e.detail ? ` (${e.detail})` : ''}`,
    ...('states' in e && e.states
      ? e.states.flatMap((s) => s.errors.flatMap((x) => flat(x, depth + 1)))
      : []),
  ];
  return validateWorkflow(text).errors.flatMap((e) => flat(e, 0));
}

const needsOf = (job: Job | undefined): string[] =>
  job?.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];

/** Every job `name` waits for, directly or through others. */
export function upstream(wf: Workflow, name: string, seen = new Set<string>()): Set<string> {
  for (const n of needsOf(wf.jobs[name])) {
    if (seen.has(n)) continue;
    seen.add(n);
    upstream(wf, n, seen);
  }
  return seen;
}

const steps = (job: Job | undefined): Step[] => job?.steps ?? [];
const runs = (s: Step, re: RegExp) => typeof s.run === 'string' && re.test(s.run.replace(/\\\n\s*/g, ' '));

const DEPLOYS =
  /gcloud\s+run\s+(deploy|services\s+update-traffic|services\s+replace|jobs\s+(execute|update|deploy))/;
const MIGRATES = /gcloud\s+run\s+jobs\s+execute\s+\S*migrate/;
const MOVES_TRAFFIC = /gcloud\s+run\s+services\s+update-traffic|gcloud\s+run\s+deploy(?![^\n]*--no-traffic)/;
const ROLLS_BACK = /update-traffic[^\n]*--to-revisions/;
const GATES = /canary-gate/;

/** A job that runs the test suite itself, or calls the CI workflow that does. */
function testsIn(job: Job | undefined, ciRunsTests: boolean): boolean {
  if (!job) return false;
  if (job.uses && /\.github\/workflows\/ci\.ya?ml$/.test(job.uses)) return ciRunsTests;
  return steps(job).some((s) => runs(s, /\.ci\/run|npm (run )?test|vitest run/));
}

/** Whether a workflow runs the tests in some job (what a called CI workflow must do). */
export function runsTests(wf: Workflow): boolean {
  return Object.values(wf.jobs).some((j) => testsIn(j, false));
}

/** Every job that deploys waits for a job that ran the tests; no pull request can deploy. */
export function deployAfterTests(wf: Workflow, ciRunsTests: boolean): string[] {
  const out: string[] = [];
  const triggers =
    typeof wf.on === 'string' ? [wf.on] : Array.isArray(wf.on) ? wf.on : Object.keys(wf.on ?? {});
  for (const t of triggers) if (/^pull_request/.test(String(t))) out.push(`deploys on ${t}`);
  for (const [name, job] of Object.entries(wf.jobs)) {
    if (!steps(job).some((s) => runs(s, DEPLOYS))) continue;
    const before = [...upstream(wf, name)];
    if (!before.some((n) => testsIn(wf.jobs[n], ciRunsTests)))
      out.push(`job ${name} deploys without needing a job that ran the tests`);
  }
  return out;
}

/** The migration job runs to completion before any step that moves traffic. */
export function migrateBeforeTraffic(wf: Workflow): string[] {
  const out: string[] = [];
  const migrations: { job: string; index: number }[] = [];
  for (const [name, job] of Object.entries(wf.jobs)) {
    steps(job).forEach((s, index) => {
      if (!runs(s, MIGRATES)) return;
      migrations.push({ job: name, index });
      if (!runs(s, /--wait\b/)) out.push(`job ${name}: the migration is started without --wait`);
    });
  }
  if (!migrations.length) return ['no step runs the migration job'];
  for (const [name, job] of Object.entries(wf.jobs)) {
    const before = upstream(wf, name);
    steps(job).forEach((s, index) => {
      if (!runs(s, MOVES_TRAFFIC) || runs(s, ROLLS_BACK)) return;
      const after = migrations.some((m) => (m.job === name ? m.index < index : before.has(m.job)));
      if (!after) out.push(`job ${name}: "${s.name ?? s.run}" moves traffic before the migration has run`);
    });
  }
  return out;
}

/**
 * Traffic that moves can move back: the first move is a canary share of a revision deployed
 * without traffic, each job that moves traffic watches the alerts after it, and a step that runs
 * on failure sends traffic back to the revisions that served before.
 */
export function rollbackPresent(wf: Workflow): string[] {
  const out: string[] = [];
  const all = Object.values(wf.jobs).flatMap(steps);
  if (!all.some((s) => runs(s, /gcloud\s+run\s+deploy[^\n]*--no-traffic/)))
    out.push('no revision is deployed without traffic first');
  if (!all.some((s) => runs(s, /update-traffic[^\n]*--to-tags\s+"?canary=/)))
    out.push('no canary share of traffic');
  for (const [name, job] of Object.entries(wf.jobs)) {
    const list = steps(job);
    const moves = list.findIndex((s) => runs(s, MOVES_TRAFFIC) && !runs(s, ROLLS_BACK));
    if (moves < 0) continue;
    const gate = list.findIndex((s, i) => i > moves && runs(s, GATES));
    if (gate < 0) out.push(`job ${name}: no alert watch after traffic moves`);
    const rollback = list.findIndex(
      (s, i) => i > gate && runs(s, ROLLS_BACK) && /failure\(\)/.test(s.if ?? ''),
    );
    if (rollback < 0)
      out.push(
        `job ${name}: no rollback step (if: failure(), update-traffic --to-revisions) after the watch`,
      );
  }
  return out;
}
