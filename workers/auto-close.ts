import type { WorkerDeps } from './deps.js';
export async function autoCloseSweep(_deps: WorkerDeps): Promise<void> {}
