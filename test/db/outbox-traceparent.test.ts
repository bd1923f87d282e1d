import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordNotifications } from '../../db/notifications.js';
import { withTenant } from '../../db/tenant.js';
import { inSpan } from '../../lib/trace-context.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

/**
 * Every outbox row carries the trace it was written in, so the relay and the jobs it feeds join
 * that trace: the rows written outside db/changes.ts too (the panel's notification events).
 */
const db = useTestDb();
const provider = new NodeTracerProvider();
beforeAll(() => {
  provider.register();
});
afterAll(() => provider.shutdown());

const traceOf = (traceparent: string | null) => traceparent?.split('-')[1] ?? null;

async function rowsOf(orgId: string, eventType: string): Promise<Array<string | null>> {
  const r = await db.admin.query<{ traceparent: string | null }>(
    'select traceparent from outbox where org_id = $1 and event_type = $2',
    [orgId, eventType],
  );
  return r.rows.map((x) => traceOf(x.traceparent));
}

describe('outbox rows written outside recordChange', () => {
  it('a notification’s live event carries the trace of the job that recorded it', async () => {
    const org = await makeOrg(db.app);
    const traceId = await inSpan('notifications.test', {}, async (span) => {
      await withTenant(db.app, org.orgId, (tx) =>
        recordNotifications(tx, 1, [
          {
            userId: org.ownerId,
            event: 'assigned',
            ticketId: null,
            title: 'A ticket is yours',
            body: null,
            inPanel: true,
            deliveries: [],
          },
        ]),
      );
      return span.spanContext().traceId;
    });
    expect(await rowsOf(org.orgId, 'notification.created')).toEqual([traceId]);
  });
});
