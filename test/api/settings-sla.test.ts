import { describe, expect, it } from 'vitest';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';
import type { Caller } from './support.js';

const { db, api, w } = useSettingsApi('Sla');

const sla = (path: string, orgId = w.a.orgId) => `/v1/orgs/${orgId}/sla${path}`;
const nineToSix = {
  mon: [[540, 1080]],
  tue: [[540, 1080]],
  wed: [[540, 1080]],
  thu: [[540, 1080]],
  fri: [[540, 1080]],
};

async function addCalendar(who: Caller, name: string, orgId = w.a.orgId) {
  const res = await api.call(who, {
    method: 'POST',
    url: sla('/calendars', orgId),
    payload: {
      name,
      timezone: 'Europe/Berlin',
      weeklyHours: nineToSix,
      holidays: ['2026-12-25', '2026-12-25'],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; holidays: string[] };
}

async function addPolicy(who: Caller, body: Record<string, unknown>, orgId = w.a.orgId) {
  const res = await api.call(who, { method: 'POST', url: sla('/policies', orgId), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; position: number };
}

describe('SLA routes', () => {
  it('manages calendars: add, read, change (keeping what is left out), default, delete; audited', async () => {
    const cal = await addCalendar(w.owner, 'Office');
    expect(cal.holidays).toEqual(['2026-12-25']);
    const listed = await api.call(w.agent, { method: 'GET', url: sla('/calendars') });
    expect(listed.json().calendars.map((c: { id: string }) => c.id)).toContain(cal.id);

    const renamed = await api.call(w.owner, {
      method: 'PATCH',
      url: sla(`/calendars/${cal.id}`),
      payload: { name: 'Berlin office' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({
      name: 'Berlin office',
      holidays: ['2026-12-25'],
      timezone: 'Europe/Berlin',
    });
    const one = await api.call(w.agent, { method: 'GET', url: sla(`/calendars/${cal.id}`) });
    expect(one.json().weeklyHours.mon).toEqual([[540, 1080]]);

    const def = await api.call(w.owner, {
      method: 'PUT',
      url: sla('/default-calendar'),
      payload: { calendarId: cal.id },
    });
    expect(def.statusCode, def.body).toBe(200);
    const org = await db.admin.query('select business_calendar_id from organizations where id = $1', [
      w.a.orgId,
    ]);
    expect(org.rows[0].business_calendar_id).toBe(cal.id);
    const shownDefault = await api.call(w.agent, { method: 'GET', url: sla('/default-calendar') });
    expect(shownDefault.json()).toEqual({ calendarId: cal.id });

    expect((await api.call(w.owner, { method: 'DELETE', url: sla(`/calendars/${cal.id}`) })).json()).toEqual({
      ok: true,
    });
    expectError(await api.call(w.owner, { method: 'GET', url: sla(`/calendars/${cal.id}`) }), 404);
    // Deleting the default calendar falls back to calendar time.
    expect((await api.call(w.agent, { method: 'GET', url: sla('/default-calendar') })).json()).toEqual({
      calendarId: null,
    });
    expect(await auditActions(db.admin, w.a.orgId, cal.id)).toEqual([
      'sla.calendar_created',
      'sla.calendar_updated',
      'sla.calendar_deleted',
    ]);
    expect(await auditActions(db.admin, w.a.orgId, w.a.orgId)).toContain('sla.default_calendar_set');
    // Each entry says what was there before: the rename its old name, the default its old calendar.
    const audit = await db.admin.query(
      `select action, data from audit_logs where org_id = $1
         and action in ('sla.calendar_updated', 'sla.default_calendar_set') order by id`,
      [w.a.orgId],
    );
    expect(audit.rows.map((r) => [r.action, r.data])).toEqual([
      ['sla.calendar_updated', { changes: { name: { from: 'Office', to: 'Berlin office' } } }],
      [
        'sla.default_calendar_set',
        { calendarId: cal.id, changes: { calendarId: { from: null, to: cal.id } } },
      ],
    ]);
  });

  it('manages policies: add, list in order, replace, delete; a calendar in use cannot be deleted', async () => {
    const cal = await addCalendar(w.owner, 'Support hours');
    const p = await addPolicy(w.owner, {
      name: 'Urgent',
      priority: 'urgent',
      firstResponseMinutes: 30,
      resolutionMinutes: 480,
      businessCalendarId: cal.id,
      warnBeforeMinutes: 10,
      position: 1,
    });
    await addPolicy(w.owner, { name: 'Everything else', resolutionMinutes: 2880, position: 5 });
    const listed = await api.call(w.agent, { method: 'GET', url: sla('/policies') });
    expect(listed.json().policies.map((x: { name: string }) => x.name)).toEqual([
      'Urgent',
      'Everything else',
    ]);

    expectError(
      await api.call(w.owner, { method: 'DELETE', url: sla(`/calendars/${cal.id}`) }),
      409,
      'conflict',
    );

    const replaced = await api.call(w.owner, {
      method: 'PUT',
      url: sla(`/policies/${p.id}`),
      payload: { name: 'Urgent (24/7)', priority: 'urgent', firstResponseMinutes: 15, enabled: false },
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({
      name: 'Urgent (24/7)',
      firstResponseMinutes: 15,
      resolutionMinutes: null,
      businessCalendarId: null,
      enabled: false,
    });
    expect((await api.call(w.agent, { method: 'GET', url: sla(`/policies/${p.id}`) })).json().enabled).toBe(
      false,
    );
    expect((await api.call(w.owner, { method: 'DELETE', url: sla(`/policies/${p.id}`) })).json()).toEqual({
      ok: true,
    });
    expectError(await api.call(w.owner, { method: 'GET', url: sla(`/policies/${p.id}`) }), 404);
    expect(await auditActions(db.admin, w.a.orgId, p.id)).toEqual([
      'sla.policy_created',
      'sla.policy_updated',
      'sla.policy_deleted',
    ]);
  });

  it('lets agents read but not write; a settings:manage token writes, a tickets token does not', async () => {
    expectError(
      await api.call(w.agent, {
        method: 'POST',
        url: sla('/policies'),
        payload: { name: 'x', resolutionMinutes: 5 },
      }),
      403,
      'forbidden',
    );
    expectError(
      await api.call(w.agent, {
        method: 'PUT',
        url: sla('/default-calendar'),
        payload: { calendarId: null },
      }),
      403,
    );
    const settings = await api.tokenFor(db.app, w.a.orgId, ['settings:manage']);
    const ok = await api.call(settings, {
      method: 'POST',
      url: sla('/policies'),
      payload: { name: 'From a script', resolutionMinutes: 60 },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const tickets = await api.tokenFor(db.app, w.a.orgId, ['tickets:write']);
    expectError(await api.call(tickets, { method: 'DELETE', url: sla(`/policies/${ok.json().id}`) }), 403);
    expect((await db.admin.query('select 1 from sla_policies where id = $1', [ok.json().id])).rowCount).toBe(
      1,
    );
  });

  it("answers 404 for another org's policies and calendars, and refuses to use them", async () => {
    const theirCal = await addCalendar(w.ownerB, 'B hours', w.b.orgId);
    const theirPolicy = await addPolicy(w.ownerB, { name: 'B policy', resolutionMinutes: 60 }, w.b.orgId);
    expectError(
      await api.call(w.owner, { method: 'GET', url: sla(`/policies/${theirPolicy.id}`) }),
      404,
      'not_found',
    );
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: sla(`/policies/${theirPolicy.id}`),
        payload: { name: 'Mine now', resolutionMinutes: 1 },
      }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: sla(`/policies/${theirPolicy.id}`) }), 404);
    expectError(await api.call(w.owner, { method: 'GET', url: sla(`/calendars/${theirCal.id}`) }), 404);
    expectError(
      await api.call(w.owner, {
        method: 'PATCH',
        url: sla(`/calendars/${theirCal.id}`),
        payload: { name: 'x' },
      }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: sla(`/calendars/${theirCal.id}`) }), 404);
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: sla('/policies'),
        payload: { name: 'Borrowed calendar', resolutionMinutes: 60, businessCalendarId: theirCal.id },
      }),
      404,
    );
    expectError(
      await api.call(w.owner, {
        method: 'PUT',
        url: sla('/default-calendar'),
        payload: { calendarId: theirCal.id },
      }),
      404,
    );

    const p = await db.admin.query('select name from sla_policies where id = $1', [theirPolicy.id]);
    expect(p.rows[0].name).toBe('B policy');
    const c = await db.admin.query('select name from business_calendars where id = $1', [theirCal.id]);
    expect(c.rows[0].name).toBe('B hours');
    expect(await auditActions(db.admin, w.a.orgId, theirPolicy.id)).toEqual([]);
  });

  it('validates calendars and policies, answering 4xx with the error shape', async () => {
    await expectBadBodiesRefused(api, w.owner, 'POST', sla('/calendars'));
    await expectBadBodiesRefused(api, w.owner, 'POST', sla('/policies'));
    const cal = await addCalendar(w.owner, 'Validation');
    await expectBadBodiesRefused(api, w.owner, 'PATCH', sla(`/calendars/${cal.id}`), { timezone: 7 });
    const nodeOnly = await api.call(w.owner, {
      method: 'PATCH',
      url: sla(`/calendars/${cal.id}`),
      payload: { timezone: 'US/Pacific-New' },
    });
    expectError(nodeOnly, 422, 'validation_failed');
    expect(nodeOnly.body).toContain('timezone');
    // Stored as PostgreSQL spells it.
    const spelled = await api.call(w.owner, {
      method: 'PATCH',
      url: sla(`/calendars/${cal.id}`),
      payload: { timezone: 'europe/berlin' },
    });
    expect(spelled.json().timezone).toBe('Europe/Berlin');
    const badCalendars = [
      { name: 'Zone', timezone: 'Mars/Olympus', weeklyHours: nineToSix },
      // Node's zone data knows it, PostgreSQL (which reads business hours for analytics) does not.
      { name: 'Node-only zone', timezone: 'US/Pacific-New', weeklyHours: nineToSix },
      { name: 'Empty week', timezone: 'UTC', weeklyHours: {} },
      {
        name: 'Overlap',
        timezone: 'UTC',
        weeklyHours: {
          mon: [
            [540, 720],
            [700, 800],
          ],
        },
      },
      { name: 'Backwards', timezone: 'UTC', weeklyHours: { mon: [[720, 540]] } },
      { name: 'Past midnight', timezone: 'UTC', weeklyHours: { mon: [[0, 1500]] } },
      { name: 'Holiday', timezone: 'UTC', weeklyHours: nineToSix, holidays: ['25/12/2026'] },
      { name: 'Funday', timezone: 'UTC', weeklyHours: { fun: [[0, 60]] } },
    ];
    for (const payload of badCalendars) {
      expectError(
        await api.call(w.owner, { method: 'POST', url: sla('/calendars'), payload }),
        422,
        'validation_failed',
      );
    }
    const badPolicies = [
      { name: 'No targets' },
      { name: 'Zero', firstResponseMinutes: 0 },
      { name: 'Priority', priority: 'asap', resolutionMinutes: 5 },
      { name: 'Too long', resolutionMinutes: 600_000 },
      { name: 'Text minutes', resolutionMinutes: '60' },
    ];
    for (const payload of badPolicies) {
      expectError(
        await api.call(w.owner, { method: 'POST', url: sla('/policies'), payload }),
        422,
        'validation_failed',
      );
    }
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: sla(`/calendars/${cal.id}`), payload: {} }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'PUT', url: sla('/default-calendar'), payload: {} }), 422);
    expectError(await api.call(w.owner, { method: 'GET', url: sla('/policies/nope') }), 422);
  });
});
