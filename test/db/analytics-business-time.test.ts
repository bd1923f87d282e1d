import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { businessSeconds } from '../../db/analytics-business-time.js';
import { foldOrg } from '../../db/analytics-fold.js';
import { withTenant } from '../../db/tenant.js';
import { type BusinessCalendar, businessMinutesBetween } from '../../lib/business-time.js';
import { insertImportedTicket, useDefaultCalendar } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

/** The fold's SQL walk of one interval, as the app role runs it. */
async function sqlSeconds(from: Date, to: Date, cal: BusinessCalendar | null): Promise<number | null> {
  const r = await db.app.query<{ s: number | null }>(
    `select ${businessSeconds('$1::timestamptz', '$2::timestamptz', 'cal')} as s
       from (select $3::text as timezone, $4::jsonb as weekly_hours, $5::date[] as holidays) cal`,
    [from, to, cal?.timezone ?? null, cal ? JSON.stringify(cal.weeklyHours) : null, cal?.holidays ?? null],
  );
  return r.rows[0]?.s ?? null;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
// Shift edges on whole quarter hours from 04:00: the walks differ only on an edge inside an
// autumn repeated hour (see analytics-business-time.ts), which no shift here has.
const edge = fc.integer({ min: 16, max: 96 }).map((q) => q * 15);
const dayRanges = fc.uniqueArray(edge, { minLength: 0, maxLength: 4 }).map((edges) => {
  const sorted = [...edges].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (let i = 0; i + 1 < sorted.length; i += 2) out.push([sorted[i] as number, sorted[i + 1] as number]);
  return out;
});
const calendarArb: fc.Arbitrary<BusinessCalendar> = fc.record({
  timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'),
  weeklyHours: fc
    .tuple(...WEEKDAYS.map(() => dayRanges))
    .map((days) => Object.fromEntries(days.map((rs, i) => [WEEKDAYS[i], rs]))),
  holidays: fc.uniqueArray(
    fc
      .integer({ min: 0, max: 60 })
      .map((d) => new Date(Date.UTC(2026, 2, 10 + d)).toISOString().slice(0, 10)),
    { maxLength: 5 },
  ),
});

describe('business time in the analytics fold', () => {
  it('counts the same working seconds as the SLA clocks, across DST changes and holidays', async () => {
    // Instants from early March to late April 2026: Europe and the US change clocks in it,
    // Sydney in early April.
    const start = Date.UTC(2026, 2, 1);
    await fc.assert(
      fc.asyncProperty(
        fc.option(calendarArb, { nil: null }),
        fc.integer({ min: 0, max: 50 * 86_400 }),
        fc.integer({ min: 0, max: 12 * 86_400 }),
        async (cal, offset, length) => {
          const from = new Date(start + offset * 1000);
          const to = new Date(from.getTime() + length * 1000);
          const expected = Math.round(businessMinutesBetween(from, to, cal) * 60);
          expect(await sqlSeconds(from, to, cal)).toBe(expected);
        },
      ),
      { numRuns: 200, seed: 170 },
    );
  });

  it('folds first response, next response and resolution in business time', async () => {
    const org = await makeOrg(db.app, 'Office hours');
    const week: Record<string, Array<[number, number]>> = {
      mon: [[540, 1020]],
      tue: [[540, 1020]],
      wed: [[540, 1020]],
      thu: [[540, 1020]],
      fri: [[540, 1020]],
    };
    const cal: BusinessCalendar = { timezone: 'Europe/Berlin', weeklyHours: week, holidays: ['2026-03-31'] };
    await useDefaultCalendar(db.app, org, {
      name: 'Office',
      timezone: cal.timezone,
      weeklyHours: { ...week },
      holidays: [...cal.holidays],
    });
    // Friday 27 March 2026, 16:00 in Berlin (15:00Z); the clocks go forward on Sunday 29th.
    const at = (iso: string) => new Date(iso);
    const opened = at('2026-03-27T15:00:00Z');
    const firstReply = at('2026-03-30T08:00:00Z'); // Monday 10:00 CEST
    const player1 = at('2026-03-30T09:00:00Z'); // 11:00: the wait starts here
    const player2 = at('2026-03-30T09:30:00Z'); // 11:30: still the same wait
    const secondReply = at('2026-03-30T13:00:00Z'); // 15:00: ends a 4 h wait
    const thirdReply = at('2026-03-30T13:10:00Z'); // no player message before it: no wait
    const player3 = at('2026-03-30T14:30:00Z'); // 16:30
    const fourthReply = at('2026-04-01T07:30:00Z'); // Wednesday 09:30, Tuesday a holiday
    const solved = at('2026-04-01T10:00:00Z');
    await insertImportedTicket(db.admin, org, {
      opened,
      firstResponse: firstReply,
      solved,
      messages: [
        ['user', firstReply],
        ['player', player1],
        ['player', player2],
        ['user', secondReply],
        ['user', thirdReply],
        ['player', player3],
        ['user', fourthReply],
      ],
    });
    const rows = await withTenant(db.app, org.orgId, async (tx) => {
      await foldOrg(tx);
      const r = await tx.query<{ kind: string; dur_s: number | null; bdur_s: number | null }>(
        `select kind, dur_s, bdur_s from analytics_contributions where org_id = $1::uuid
          order by kind, bucket, dur_s nulls first`,
        [tx.orgId],
      );
      return r.rows.map((x) => [x.kind, x.dur_s, x.bdur_s]);
    });
    const biz = (a: Date, b: Date) => Math.round(businessMinutesBetween(a, b, cal) * 60);
    expect(rows).toEqual([
      // Friday 16:00-17:00 and Monday 9:00-10:00: 2 h of the 65 that passed (66 on the wall
      // clock, less the hour it skipped).
      ['opened', 65 * 3600, 2 * 3600],
      ['reply', null, null],
      // The 15:00 hour: the reply that ended no wait, then the one that ended a 4 h wait.
      ['reply', null, null],
      ['reply', 4 * 3600, 4 * 3600],
      // Monday 16:30-17:00 and Wednesday 9:00-9:30; Tuesday is a holiday.
      ['reply', 41 * 3600, 3600],
      ['resolved', 115 * 3600, biz(opened, solved)],
    ]);
    // Friday 16-17, Monday 9-17, Wednesday 9-12 (solved at 12:00 local).
    expect(biz(opened, solved)).toBe((1 + 8 + 3) * 3600);
  });
});
