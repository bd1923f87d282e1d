import type { Redis } from 'ioredis';
import type pg from 'pg';
import { orgFeatures, relayedBetween, relayOutboxBatch } from '../db/outbox.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { counter, gauge, histogram } from '../lib/metrics.js';
import { pushRows } from './outbox-push.js';
import type { Queues } from './queues.js';

/**
 * The outbox relay: the only bridge from committed changes to Redis. In one transaction it
 * claims a batch of unrelayed rows (FOR UPDATE SKIP LOCKED, so several relays share the work),
 * publishes each as a live update, enqueues the jobs each implies (`event-jobs.ts`; ids derived
 * from the outbox id, so a re-enqueue is a no-op; both sent by `outbox-push.ts`), and marks the
 * rows relayed. If Redis fails midway, the transaction rolls back and the rows wait; publishing
 * is deduped on the event id, so the retry publishes nothing twice.
 *
 * Woken by LISTEN gm_outbox (one notification per committing transaction), with polling as the
 * fallback for a lost notification or a dropped LISTEN connection. A batch costs three round trips
 * to Postgres (begin with the claim, the read, the mark with the commit: `relayOutboxBatch`) and
 * one to Redis, whatever its size. The pool it is given should be its own (workers/runtime.ts
 * makes one), so a batch never waits for a connection behind job processors or requests.
 */

export interface RelayOptions {
  /** The relay's own: the LISTEN connection and one batch at a time (2 connections). */
  pool: Pool;
  /** Publishes and enqueues; should fail fast while Redis is away (a producer connection). */
  redis: Redis;
  queues: Queues;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  /**
   * After Redis comes back, re-enqueue the jobs of rows relayed this long before it went away: a
   * Redis killed hard with AOF fsync every second can lose writes it had acknowledged.
   */
  lookbackMs?: number;
  /**
   * Of those, the live events re-published: only the last few seconds (an AOF tail holds about a
   * second), since a topic dedupes publishes only within its backlog window and republishing
   * further back would send clients events they already had.
   */
  liveLookbackMs?: number;
  meter?: RelayMeter;
}

const relayed = counter('gamemod_outbox_relayed_total', 'Outbox rows relayed');
const relayErrors = counter(
  'gamemod_outbox_relay_errors_total',
  'Relay batches that failed and were retried',
);
const relayLag = histogram(
  'gamemod_outbox_relay_lag_seconds',
  'Time from an outbox row being written to it being published',
  [],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
);
const pending = gauge('gamemod_outbox_unrelayed', 'Unrelayed outbox rows seen in the last claim');

/**
 * What the relay measures. The default writes this process's metrics; a relay in its own thread
 * (workers/relay-thread.ts) has a registry nobody scrapes, so it forwards them to the main one.
 */
export interface RelayMeter {
  /** A batch relayed, with each row's lag (seconds from written to published). */
  relayed(lagsSeconds: readonly number[]): void;
  failed(): void;
  unrelayed(n: number): void;
}

export const processMeter: RelayMeter = {
  relayed: (lags) => {
    for (const l of lags) relayLag.observe(l);
    relayed.inc(lags.length);
  },
  failed: () => relayErrors.inc(),
  unrelayed: (n) => pending.set(n),
};

/** Rows per page of the look-back after an outage (the most its database function returns). */
const LOOKBACK_PAGE = 1_000;

/** Rows per page of the look-back's jobs-only part, taken between batches. */
const LATER_PAGE = 250;

/** The most one claim takes (gm_claim_outbox's cap): a relay behind claims this many at a time. */
const MAX_BATCH = 1_000;

export class OutboxRelay {
  private readonly batchSize: number;
  private claimSize: number;
  private readonly pollMs: number;
  private readonly lookbackMs: number;
  private readonly liveLookbackMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private woken = false;
  private listener: pg.PoolClient | undefined;
  private outageSince: number | undefined;
  /** The part of the look-back after an outage left for when the relay has caught up. */
  private later: { since: Date; until: Date; after: number } | undefined;
  private consecutiveErrors = 0;
  private everReady = false;
  private readonly meter: RelayMeter;

  constructor(private readonly opts: RelayOptions) {
    this.meter = opts.meter ?? processMeter;
    this.batchSize = opts.batchSize ?? 200;
    this.claimSize = this.batchSize;
    this.pollMs = opts.pollMs ?? 1_000;
    this.lookbackMs = opts.lookbackMs ?? 30_000;
    this.liveLookbackMs = Math.min(opts.liveLookbackMs ?? 5_000, this.lookbackMs);
    if (opts.redis.status === 'ready') this.everReady = true;
    opts.redis.on('ready', () => {
      this.everReady = true;
      // Back from an outage: catch up now rather than at the next poll.
      this.notify();
    });
    opts.redis.on('close', () => this.markOutage());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in progress (its transaction commits or rolls back). */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loop;
    this.listener?.release(true);
    this.listener = undefined;
  }

  private markOutage(): void {
    if (this.everReady) this.outageSince ??= Date.now();
  }

  private notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async listen(): Promise<void> {
    if (this.listener) return;
    try {
      const client = await this.opts.pool.connect();
      client.on('notification', () => this.notify());
      client.on('error', () => {
        // The LISTEN connection died (database restart); polling carries on until it is back.
        if (this.listener === client) this.listener = undefined;
        client.release(true);
      });
      await client.query('listen gm_outbox');
      this.listener = client;
    } catch (err) {
      this.opts.logger.debug({ err: (err as Error).message }, 'relay cannot LISTEN yet; polling');
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
    this.woken = false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.listen();
      let n = 0;
      try {
        if (this.opts.redis.status !== 'ready') {
          // Holding row locks while Redis is away helps nobody; the rows wait in Postgres.
          this.markOutage();
          await this.sleep(Math.min(this.pollMs, 250));
          continue;
        }
        if (this.outageSince !== undefined) await this.catchUpAfterOutage();
        n = await this.relayBatch();
        this.consecutiveErrors = 0;
      } catch (err) {
        this.consecutiveErrors++;
        this.meter.failed();
        this.markOutage();
        this.opts.logger.warn({ err: (err as Error).message }, 'outbox relay batch failed; will retry');
        await this.sleep(Math.min(100 * 2 ** this.consecutiveErrors, 2_000));
        continue;
      }
      // Behind (a full batch): claim more at once, so the fixed cost of a batch (its round trips)
      // is shared by more rows until the backlog is gone.
      if (n < this.claimSize) {
        this.claimSize = this.batchSize;
        let more = false;
        try {
          more = await this.lookBackLater();
        } catch (err) {
          // Kept for the next try; a Redis that failed again starts a new catch-up anyway.
          this.opts.logger.warn({ err: (err as Error).message }, 'look-back of jobs failed; will retry');
          this.markOutage();
        }
        if (!more) await this.sleep(this.pollMs);
      } else {
        this.claimSize = Math.min(this.batchSize * 5, Math.max(MAX_BATCH, this.batchSize));
      }
    }
  }

  /** Relays one batch; returns how many rows it relayed. */
  async relayBatch(): Promise<number> {
    // Three round trips to Postgres and one to Redis (db/outbox.ts has the statements).
    const { claimed, rows } = await relayOutboxBatch(
      this.opts.pool,
      this.claimSize,
      async (read, features) => {
        await pushRows(this.opts, read, features);
      },
    );
    this.meter.unrelayed(claimed);
    if (rows.length === 0) return 0;
    const now = Date.now();
    this.meter.relayed(rows.map((r) => (now - new Date(r.createdAt).getTime()) / 1000));
    return rows.length;
  }

  /**
   * After an outage, pushes again what was relayed shortly before it: publishes are deduped on
   * the event id, jobs on their ids, and processors are idempotent, so this only fills in what
   * Redis lost. Only what was relayed shortly before the outage began (plus a little for clock
   * skew between this host and the database, whose time relayed_at is): the database serves at
   * most ten minutes of it across tenants.
   *
   * The live events (the last few seconds) go before anything new, or a topic would get a lost
   * event after later ones. The jobs of the rest of the look-back have no order to keep: they are
   * looked at once the relay has caught up with what waited during the outage (`lookBackLater`),
   * so the backlog is not held up behind a check that nearly always finds every job there.
   */
  private async catchUpAfterOutage(): Promise<void> {
    const began = this.outageSince ?? Date.now();
    const liveSince = new Date(began - this.liveLookbackMs);
    const total = await this.lookBack(liveSince, new Date(began + 5_000), liveSince.getTime());
    const since = new Date(
      Math.min(began - this.lookbackMs, this.later?.since.getTime() ?? Number.POSITIVE_INFINITY),
    );
    this.later = { since, until: liveSince, after: 0 };
    this.outageSince = undefined;
    this.opts.logger.info(
      { replayed: total, since: liveSince },
      'Redis is back; re-pushed recently relayed events',
    );
  }

  /**
   * One page of the rest of the look-back (its jobs only), taken whenever the relay has caught
   * up: small pages between batches, so new events never wait long behind it. Returns whether
   * pages remain.
   */
  private async lookBackLater(): Promise<boolean> {
    const later = this.later;
    if (!later) return false;
    const { rows, last } = await this.lookBackPage(
      later.since,
      later.until,
      later.after,
      Number.POSITIVE_INFINITY,
      LATER_PAGE,
    );
    if (this.later !== later) return true;
    if (rows < LATER_PAGE) {
      this.later = undefined;
      this.opts.logger.info({ since: later.since }, 'Redis is back; re-enqueued the jobs it had lost');
      return false;
    }
    later.after = last;
    return true;
  }

  /** Pushes again rows relayed in [since, until]: their jobs Redis lacks, their live events from `liveFrom`. */
  private async lookBack(since: Date, until: Date, liveFrom: number): Promise<number> {
    let after = 0;
    let total = 0;
    for (;;) {
      const { rows, last } = await this.lookBackPage(since, until, after, liveFrom, LOOKBACK_PAGE);
      total += rows;
      after = last;
      if (rows < LOOKBACK_PAGE) return total;
    }
  }

  private async lookBackPage(
    since: Date,
    until: Date,
    after: number,
    liveFrom: number,
    size: number,
  ): Promise<{ rows: number; last: number }> {
    const rows = await relayedBetween(this.opts.pool, since, until, after, size);
    if (!rows.length) return { rows: 0, last: after };
    await pushRows(
      this.opts,
      rows,
      await orgFeatures(
        this.opts.pool,
        rows.map((r) => r.orgId),
      ),
      rows.filter((r) => (r.relayedAt ? new Date(r.relayedAt).getTime() >= liveFrom : false)),
      true,
    );
    return { rows: rows.length, last: rows.at(-1)?.id ?? after };
  }
}
