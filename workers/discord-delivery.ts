import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';
export async function deliverMessage(_deps: WorkerDeps, _d: JobData<'discord.message'>): Promise<void> {}
export async function deliverAlert(_deps: WorkerDeps, _d: JobData<'discord.alert'>): Promise<void> {}
