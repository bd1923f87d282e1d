import type pg from 'pg';
import { allOrgIds } from './organizations.js';
import type { Pool } from './pool.js';
import { isUuid, type Tx, withTenant } from './tenant.js';
import { withTransaction } from './transaction.js';

/** A committed domain event as the relay sees it. */
export interface OutboxRow {
  id: number;
  orgId: string;
  eventType: string;
  aggregateType: string;
  aggregateId: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
  /** When it was relayed (null while it waits); read by the relay's look-back. */
  relayedAt?: Date | null;
  /** The W3C trace context of what wrote it (null untraced): the relay continues that trace. */
  traceparent?: string | null;
}

/** An outbox row as `OutboxRow`, for a statement that reads one along with something else. */
export const OUTBOX_COLUMNS = `id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
  aggregate_id as "aggregateId", payload, created_at as "createdAt", relayed_at as "relayedAt", traceparent`;

/** An outbox row's id and organization: all a cross-tenant function hands out about it. */
export interface OutboxRef {
  id: number;
  orgId: string;
}

/**
 * Claims up to `batch` unrelayed rows, oldest first, skipping rows another relay holds. Must run
 * inside a transaction on `client`; the row locks last until it ends, so read the rows with
 * `readOutbox` and mark them with `markRelayed` in the same transaction.
 */
export async function claimOutbox(client: pg.ClientBase, batch: number): Promise<OutboxRef[]> {
  const r = await client.query<OutboxRef>({
    text: 'select id, org_id as "orgId" from gm_claim_outbox($1::int)',
    values: [batch],
  });
  return r.rows;
}

/**
 * The rows behind `refs`, read organization by organization with each one's tenant set, so
 * row-level security (not a cross-tenant function) decides what comes back. Runs inside the
 * caller's transaction on `client` and leaves no tenant set behind. Ordered by id.
 */
export async function readOutbox(client: pg.ClientBase, refs: readonly OutboxRef[]): Promise<OutboxRow[]> {
  if (!refs.length) return [];
  return (await readStatements(client, refs, { after: [] })).rows;
}

/**
 * What the relay needs between its claim and its publish, in one round trip: the claimed rows
 * (as `readOutbox`) less those behind an earlier unrelayed row of their organization outside
 * the claim (as `blockedByEarlier`), and the organizations' features (as `orgFeatures`).
 */
export async function readForRelay(
  client: pg.ClientBase,
  refs: readonly OutboxRef[],
): Promise<{ rows: OutboxRow[]; features: Map<string, OrgFeatures> }> {
  if (!refs.length) return { rows: [], features: new Map() };
  const orgIds = [...new Set(refs.map((r) => r.orgId))];
  const { rows, extra } = await readStatements(client, refs, {
    unblockedOnly: true,
    after: [
      `select org_id, webhooks, sla, rules from gm_outbox_org_features('{${orgIds.join(',')}}'::uuid[])`,
    ],
  });
  const features = (extra[0]?.rows ?? []) as Array<{ org_id: string } & OrgFeatures>;
  return {
    rows,
    features: new Map(features.map((x) => [x.org_id, { webhooks: x.webhooks, sla: x.sla, rules: x.rules }])),
  };
}

/**
 * One multi-statement query: each org's rows with its tenant set, then no tenant, then `after`.
 * With `unblockedOnly`, each org's first unrelayed row outside `refs` is read too (under its
 * tenant, no cross-tenant function needed), and the org's rows after it are left out: another
 * relay holds it, or it is not committed yet, and publishing them now would put them ahead of
 * it. An index scan that stops at that row: linear in the claim, where `gm_outbox_blocked` looks
 * back from every claimed row (quadratic: 0.6 s for a claim of 1,000 rows).
 */
async function readStatements(
  client: pg.ClientBase,
  refs: readonly OutboxRef[],
  opts: { unblockedOnly?: boolean; after: readonly string[] },
): Promise<{ rows: OutboxRow[]; extra: pg.QueryResult[] }> {
  const byOrg = new Map<string, number[]>();
  for (const { id, orgId } of refs) {
    if (!isUuid(orgId) || !Number.isSafeInteger(id)) throw new Error(`bad outbox reference ${id} ${orgId}`);
    byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), id]);
  }
  // One round trip for the whole batch: each statement of a multi-statement query is planned
  // after the one before it ran, so each select sees the tenant its set_config just set. The
  // values are checked uuids and integers (as withTenant inlines its org id), since a
  // multi-statement query takes no parameters.
  const per = opts.unblockedOnly ? 3 : 2;
  const statements = [...byOrg].flatMap(([orgId, ids]) => {
    const list = `'{${ids.join(',')}}'::bigint[]`;
    return [
      `select set_config('app.org_id', '${orgId}', true)`,
      `select ${OUTBOX_COLUMNS} from outbox where org_id = '${orgId}'::uuid and id = any(${list})`,
      ...(opts.unblockedOnly
        ? [
            `select id from outbox where org_id = '${orgId}'::uuid and relayed_at is null
               and not (id = any(${list})) order by id limit 1`,
          ]
        : []),
    ];
  });
  const results = (await client.query(
    [...statements, "select set_config('app.org_id', '', true)", ...opts.after].join(';\n'),
  )) as unknown as pg.QueryResult[];
  const rows: OutboxRow[] = [];
  for (let i = 0; i < byOrg.size; i++) {
    const read = (results[i * per + 1]?.rows ?? []) as OutboxRow[];
    const first = opts.unblockedOnly
      ? (results[i * per + 2]?.rows[0] as { id: number } | undefined)
      : undefined;
    rows.push(...(first ? read.filter((r) => r.id < Number(first.id)) : read));
  }
  return { rows: rows.sort((x, y) => x.id - y.id), extra: results.slice(statements.length + 1) };
}

/**
 * Of the claimed ids, those with an earlier unrelayed row of the same organization outside the
 * claim (another relay holds it): publishing them now would put them ahead of it.
 */
export async function blockedByEarlier(client: pg.ClientBase, ids: readonly number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const r = await client.query<{ id: number }>({
    text: 'select id from gm_outbox_blocked($1::bigint[]) as id',
    values: [ids],
  });
  return new Set(r.rows.map((x) => Number(x.id)));
}

/**
 * One batch of the relay in three round trips to Postgres, whatever its size: the transaction
 * opens with the claim (up to `batch` unrelayed rows, oldest first, skipping rows another relay
 * holds, as `claimOutbox`); then `readForRelay` reads them, leaving out those behind an earlier
 * row of their organization held elsewhere (they wait for a later batch, so each organization's
 * events go out in outbox order however many relays run); `push` publishes them; the mark goes
 * with the commit. If `push` throws, nothing is marked and the rows wait for the next batch.
 */
export async function relayOutboxBatch(
  pool: Pool,
  batch: number,
  push: (rows: OutboxRow[], features: Map<string, OrgFeatures>) => Promise<void>,
): Promise<{ claimed: number; rows: OutboxRow[] }> {
  // Inlined in a multi-statement query (no parameters there): a checked integer.
  if (!Number.isSafeInteger(batch) || batch < 1) throw new Error(`bad outbox batch size ${batch}`);
  return withTransaction(
    pool,
    async (client, opened) => {
      const [, claim] = opened as [pg.QueryResult, pg.QueryResult<OutboxRef>];
      if (!claim.rows.length) return { claimed: 0, rows: [] };
      const { rows, features } = await readForRelay(client, claim.rows);
      if (rows.length) await push(rows, features);
      return { claimed: claim.rows.length, rows };
    },
    {
      begin: `begin; select id, org_id as "orgId" from gm_claim_outbox(${batch})`,
      beforeCommit: ({ rows }) => (rows.length ? markStatement(rows.map((r) => r.id)) : undefined),
    },
  );
}

function markStatement(ids: readonly number[]): string {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new Error(`bad outbox id ${id}`);
  return `select gm_mark_outbox_relayed('{${ids.join(',')}}'::bigint[])`;
}

export async function markRelayed(client: pg.ClientBase, ids: readonly number[]): Promise<number> {
  const r = await client.query<{ n: number }>({
    text: 'select gm_mark_outbox_relayed($1::bigint[]) as n',
    values: [ids],
  });
  return r.rows[0]?.n ?? 0;
}

/** Which of these organizations have enabled webhook subscriptions, SLA policies and rules. */
export interface OrgFeatures {
  webhooks: boolean;
  sla: boolean;
  rules: boolean;
}

export async function orgFeatures(
  client: Pick<pg.ClientBase, 'query'>,
  orgIds: readonly string[],
): Promise<Map<string, OrgFeatures>> {
  const r = await client.query<{ org_id: string; webhooks: boolean; sla: boolean; rules: boolean }>({
    text: 'select org_id, webhooks, sla, rules from gm_outbox_org_features($1::uuid[])',
    values: [[...new Set(orgIds)]],
  });
  return new Map(r.rows.map((x) => [x.org_id, { webhooks: x.webhooks, sla: x.sla, rules: x.rules }]));
}

/**
 * Rows relayed in [since, until], keyset-paged by id: the relay's look-back after a Redis outage.
 * The cross-tenant function gives ids; the rows are read with their tenants set.
 */
export async function relayedBetween(
  pool: Pool,
  since: Date,
  until: Date,
  afterId: number,
  batch: number,
): Promise<OutboxRow[]> {
  return withTransaction(pool, async (client) => {
    const refs = await client.query<OutboxRef>({
      text: `select id, org_id as "orgId"
               from gm_outbox_relayed_between($1::timestamptz, $2::timestamptz, $3::bigint, $4::int)`,
      values: [since, until, afterId, batch],
    });
    return readOutbox(client, refs.rows);
  });
}

/** One org's outbox row, read with its tenant set (processors load the event they work on). */
export async function getOutboxRow(tx: Tx, id: number): Promise<OutboxRow | undefined> {
  const r = await tx.query<OutboxRow>(`select ${OUTBOX_COLUMNS} from outbox where id = $1::bigint`, [id]);
  return r.rows[0];
}

/**
 * Deletes every organization's relayed rows older than `before`, a batch at a time per org
 * (their delivery log goes with them, by the foreign key), except events with a webhook retry
 * still to come. Returns how many were deleted.
 */
export async function pruneRelayed(pool: Pool, before: Date, batch = 5_000): Promise<number> {
  let total = 0;
  for await (const org_id of allOrgIds(pool)) {
    for (;;) {
      const n = await withTenant(pool, org_id, async (tx) => {
        // An event whose delivery still has an automatic retry coming stays: the retry needs
        // it, and deleting it would take its delivery log along (cascade).
        const r = await tx.query(
          `delete from outbox where id in (
             select o.id from outbox o where o.org_id = $1::uuid and o.relayed_at is not null
               and o.relayed_at < $2::timestamptz
               and not exists (select 1 from webhook_deliveries d where d.org_id = o.org_id and d.outbox_id = o.id
                 and d.status = 'failed' and not d.replay and d.next_attempt_at is not null
                 and exists (select 1 from webhook_subscriptions s where s.org_id = d.org_id
                   and s.id = d.subscription_id and s.enabled)
                 and not exists (select 1 from webhook_deliveries n where n.org_id = d.org_id
                   and n.subscription_id = d.subscription_id and n.outbox_id = d.outbox_id
                   and ((n.attempt > d.attempt and not n.replay) or n.status = 'succeeded')))
             limit $3::int)`,
          [tx.orgId, before, batch],
        );
        return r.rowCount ?? 0;
      });
      total += n;
      if (n < batch) break;
    }
  }
  return total;
}
