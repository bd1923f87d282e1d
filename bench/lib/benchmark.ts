/** One named benchmark; `npm run bench -- <name>` runs it. */
export interface Benchmark {
  name: string;
  /** One line: what is measured against what. */
  description: string;
  /** Prints its figures; throws only when something went wrong (a missed target is not an error). */
  run(log: (msg: string) => void): Promise<void>;
}
