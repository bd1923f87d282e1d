import { acceptGameReports, type GameReport, type ReportItem } from '../db/player-reports.js';
import type { Pool } from '../db/pool.js';
import { AppError } from '../lib/errors.js';

type Accepted = { report: GameReport; created: boolean };

interface Waiting {
  item: ReportItem;
  resolve: (r: Accepted) => void;
  reject: (err: unknown) => void;
}

/** Reports one transaction takes at most. */
const MAX_BATCH = 200;

/**
 * Player reports arrive by the thousand a second in a busy game. Each organization's reports are
 * accepted one transaction at a time: a report that comes while one is committing waits for it
 * and goes into the next, with everything else that came meanwhile (a report alone goes at
 * once, so a quiet game adds no delay). A batch is one statement, its own transaction (one round
 * trip however many reports: db/player-reports.ts, acceptGameReports), and a caller still hears
 * only once its report is committed.
 */
export class ReportIntake {
  private readonly orgs = new Map<string, Waiting[]>();

  constructor(private readonly pool: Pool) {}

  accept(orgId: string, item: ReportItem): Promise<Accepted> {
    return new Promise((resolve, reject) => {
      const waiting = this.orgs.get(orgId);
      if (waiting) {
        waiting.push({ item, resolve, reject });
        return;
      }
      this.orgs.set(orgId, [{ item, resolve, reject }]);
      void this.drain(orgId);
    });
  }

  /** Runs the org's batches until nothing waits (the map entry marks a batch in flight). */
  private async drain(orgId: string): Promise<void> {
    for (;;) {
      const waiting = this.orgs.get(orgId) ?? [];
      if (waiting.length === 0) {
        this.orgs.delete(orgId);
        return;
      }
      const batch = waiting.splice(0, MAX_BATCH);
      await this.run(orgId, batch);
    }
  }

  private async run(orgId: string, batch: Waiting[]): Promise<void> {
    try {
      const results = await acceptGameReports(
        this.pool,
        orgId,
        batch.map((w) => w.item),
      );
      batch.forEach((w, i) => {
        const r = results[i];
        if (r instanceof AppError) w.reject(r);
        else if (r) w.resolve(r);
        else w.reject(new AppError('internal', 'a report batch answered too few'));
      });
    } catch (err) {
      // A refusal caused by one report's data must not fail the others: alone, each succeeds or
      // fails on its own. A database that is away fails them all at once, without a retry each.
      if (batch.length > 1 && err instanceof AppError && err.status < 500)
        for (const w of batch) await this.run(orgId, [w]);
      else for (const w of batch) w.reject(err);
    }
  }
}
