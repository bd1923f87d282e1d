// Types for the tests that import the gate (the script itself is plain JavaScript for Node alone).
export interface Alert {
  id: string;
  title: string;
  query: string;
  threshold: number;
  rollback: boolean;
}

export function rollbackAlerts(overrides?: Record<string, number>): Alert[];

export function watch(o: {
  base: string;
  project: string;
  token: string;
  checks: number;
  intervalMs: number;
  alerts: Alert[];
  log?: (line: string) => void;
}): Promise<Alert | null>;
