import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';
export async function recomputeSla(_deps: WorkerDeps, _d: JobData<'sla.recompute'>): Promise<void> {}
export async function fireSlaTimer(_deps: WorkerDeps, _d: JobData<'sla.fire'>): Promise<void> {}
