import { describe, expect, it } from 'vitest';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';
import type { Caller } from './support.js';

const { db, api, w } = useSettingsApi('Forms');

const categories = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/categories${path}`;
const canned = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/canned-replies${path}`;

async function addCategory(who: Caller, name: string, orgId = w.a.orgId) {
  const res = await api.call(who, {
    method: 'POST',
    url: categories('', orgId),
    payload: {
      name,
      emoji: '🐞',
      questions: [
        { key: 'Platform', label: 'Which platform?' },
        { key: 'steps', label: 'What happened?', style: 'paragraph', required: false, maxLength: 1000 },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; questions: { key: string; style: string; required: boolean }[] };
}

async function addCanned(who: Caller, shortcut: string, body: string, orgId = w.a.orgId) {
  const res = await api.call(who, {
    method: 'POST',
    url: canned('', orgId),
    payload: { shortcut, title: `Title ${shortcut}`, body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; shortcut: string };
}

describe('category routes', () => {
  it('adds a category with its form, reads, changes and archives it, auditing each change', async () => {
    const c = await addCategory(w.owner, 'Bug report');
    expect(c.questions).toEqual([
      expect.objectContaining({ key: 'platform', style: 'short', required: true }),
      expect.objectContaining({ key: 'steps', style: 'paragraph', required: false }),
    ]);
    // Agents work tickets, so they read categories.
    const listed = await api.call(w.agent, { method: 'GET', url: categories() });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().categories.map((x: { id: string }) => x.id)).toContain(c.id);

    const team = await withTenant(db.app, w.a.orgId, (tx) => createTeam(tx, { name: 'QA' }, w.a.owner));
    const changed = await api.call(w.owner, {
      method: 'PATCH',
      url: categories(`/${c.id}`),
      payload: { teamId: team.id, description: 'Crashes and glitches', ticketMode: 'forum' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ teamId: team.id, ticketMode: 'forum', emoji: '🐞' });

    const archived = await api.call(w.owner, { method: 'DELETE', url: categories(`/${c.id}`) });
    expect(archived.statusCode, archived.body).toBe(200);
    expect(archived.json().archivedAt).not.toBeNull();
    const active = await api.call(w.owner, { method: 'GET', url: categories() });
    expect(active.json().categories.map((x: { id: string }) => x.id)).not.toContain(c.id);
    const all = await api.call(w.owner, { method: 'GET', url: categories('?includeArchived=true') });
    expect(all.json().categories.map((x: { id: string }) => x.id)).toContain(c.id);
    expect(await auditActions(db.admin, w.a.orgId, c.id)).toEqual([
      'category.created',
      'category.updated',
      'category.archived',
    ]);
  });

  it('refuses writes to agents and to tokens without settings:manage; reads need tickets.read or settings:manage', async () => {
    const c = await addCategory(w.owner, 'Billing');
    expectError(
      await api.call(w.agent, { method: 'POST', url: categories(), payload: { name: 'No' } }),
      403,
      'forbidden',
    );
    expectError(
      await api.call(w.agent, { method: 'PATCH', url: categories(`/${c.id}`), payload: { name: 'No' } }),
      403,
    );
    expectError(await api.call(w.agent, { method: 'DELETE', url: categories(`/${c.id}`) }), 403);
    const reader = await api.tokenFor(db.app, w.a.orgId, ['tickets:read']);
    expect((await api.call(reader, { method: 'GET', url: categories(`/${c.id}`) })).statusCode).toBe(200);
    expectError(
      await api.call(reader, { method: 'PATCH', url: categories(`/${c.id}`), payload: { name: 'No' } }),
      403,
    );
    const settings = await api.tokenFor(db.app, w.a.orgId, ['settings:manage']);
    const viaToken = await api.call(settings, {
      method: 'PATCH',
      url: categories(`/${c.id}`),
      payload: { position: 3 },
    });
    expect(viaToken.statusCode, viaToken.body).toBe(200);
    expect((await api.call(settings, { method: 'GET', url: categories() })).statusCode).toBe(200);
    const games = await api.tokenFor(db.app, w.a.orgId, ['games:manage']);
    expectError(await api.call(games, { method: 'GET', url: categories() }), 403);
    const row = await db.admin.query('select name, position from ticket_categories where id = $1', [c.id]);
    expect(row.rows[0]).toEqual({ name: 'Billing', position: 3 });
  });

  it("answers 404 for another org's categories and teams, changing nothing", async () => {
    const theirs = await addCategory(w.ownerB, 'B category', w.b.orgId);
    const theirTeam = await withTenant(db.app, w.b.orgId, (tx) =>
      createTeam(tx, { name: 'B team' }, w.b.owner),
    );
    const mine = await addCategory(w.owner, 'Mine');
    expectError(
      await api.call(w.owner, { method: 'GET', url: categories(`/${theirs.id}`) }),
      404,
      'not_found',
    );
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: categories(`/${theirs.id}`), payload: { name: 'x' } }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: categories(`/${theirs.id}`) }), 404);
    expectError(
      await api.call(w.owner, {
        method: 'PATCH',
        url: categories(`/${mine.id}`),
        payload: { teamId: theirTeam.id },
      }),
      404,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: categories(),
        payload: { name: 'Stolen team', teamId: theirTeam.id },
      }),
      404,
    );
    const row = await db.admin.query('select name, archived_at from ticket_categories where id = $1', [
      theirs.id,
    ]);
    expect(row.rows[0]).toEqual({ name: 'B category', archived_at: null });
    const m = await db.admin.query('select team_id from ticket_categories where id = $1', [mine.id]);
    expect(m.rows[0].team_id).toBeNull();
    expect(await auditActions(db.admin, w.a.orgId, theirs.id)).toEqual([]);
  });

  it('refuses bad input with the error shape', async () => {
    const c = await addCategory(w.owner, 'Input');
    await expectBadBodiesRefused(api, w.owner, 'POST', categories());
    await expectBadBodiesRefused(api, w.owner, 'PATCH', categories(`/${c.id}`), { position: 'first' });
    const six = Array.from({ length: 6 }, (_, i) => ({ key: `q${i}`, label: `Question ${i}` }));
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: categories(),
        payload: { name: 'Six', questions: six },
      }),
      422,
    );
    const dup = [
      { key: 'a', label: 'A' },
      { key: 'A', label: 'again' },
    ];
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: categories(),
        payload: { name: 'Dup', questions: dup },
      }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'PATCH', url: categories(`/${c.id}`), payload: {} }), 422);
    expectError(await api.call(w.owner, { method: 'GET', url: categories('?includeArchived=maybe') }), 422);
  });
});

describe('canned reply routes', () => {
  it('adds, searches, changes and deletes a canned reply, auditing each change', async () => {
    const r = await addCanned(w.owner, 'Refund', 'Hi {player}, your refund for #{ticket} is on its way.');
    expect(r.shortcut).toBe('refund');
    const found = await api.call(w.agent, { method: 'GET', url: canned('?search=ref') });
    expect(found.statusCode).toBe(200);
    expect(found.json().cannedReplies.map((x: { id: string }) => x.id)).toEqual([r.id]);
    expect((await api.call(w.agent, { method: 'GET', url: canned(`/${r.id}`) })).json().shortcut).toBe(
      'refund',
    );

    const changed = await api.call(w.owner, {
      method: 'PATCH',
      url: canned(`/${r.id}`),
      payload: { title: 'Refund sent' },
    });
    expect(changed.json().title).toBe('Refund sent');
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: canned(),
        payload: { shortcut: 'refund', title: 'x', body: 'y' },
      }),
      409,
      'conflict',
    );
    expect((await api.call(w.owner, { method: 'DELETE', url: canned(`/${r.id}`) })).json()).toEqual({
      ok: true,
    });
    expectError(await api.call(w.owner, { method: 'GET', url: canned(`/${r.id}`) }), 404);
    expect(await auditActions(db.admin, w.a.orgId, r.id)).toEqual([
      'canned_reply.created',
      'canned_reply.updated',
      'canned_reply.deleted',
    ]);
  });

  it('renders a preview from a ticket, the caller and given values; unknown variables stay visible', async () => {
    const c = await addCategory(w.owner, 'Payments');
    const r = await addCanned(
      w.owner,
      'hello',
      'Hi {player}, {agent} here about #{ticket} "{subject}" ({category}) {oops}',
    );
    const { ticket } = await withTenant(db.app, w.a.orgId, (tx) =>
      openTicket(tx, { subject: 'Double charge', categoryId: c.id, origin: 'panel' }, w.a.owner),
    );
    const res = await api.call(w.agent, {
      method: 'POST',
      url: canned(`/${r.id}/render`),
      payload: { ticketId: ticket.id, variables: { player: 'Ann' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().body).toBe(
      `Hi Ann, Forms agent here about #${ticket.number} "Double charge" (Payments) {oops}`,
    );
    const bare = await api.call(w.agent, { method: 'POST', url: canned(`/${r.id}/render`), payload: {} });
    expect(bare.json().body).toBe(
      'Hi {player}, {agent} here about #{ticket} "{subject}" ({category}) {oops}',
    );
  });

  it('lets agents read but not manage canned replies; a token reads them with tickets:write only', async () => {
    expectError(
      await api.call(w.agent, {
        method: 'POST',
        url: canned(),
        payload: { shortcut: 'no', title: 'No', body: 'No' },
      }),
      403,
      'forbidden',
    );
    const reader = await api.tokenFor(db.app, w.a.orgId, ['tickets:read']);
    expectError(await api.call(reader, { method: 'GET', url: canned() }), 403);
    const writer = await api.tokenFor(db.app, w.a.orgId, ['tickets:write']);
    expect((await api.call(writer, { method: 'GET', url: canned() })).statusCode).toBe(200);
  });

  it("answers 404 for another org's canned replies and tickets, changing nothing", async () => {
    const theirs = await addCanned(w.ownerB, 'theirs', 'B text', w.b.orgId);
    const mine = await addCanned(w.owner, 'mine', 'About #{ticket}');
    const { ticket } = await withTenant(db.app, w.b.orgId, (tx) =>
      openTicket(tx, { subject: 'B secret', origin: 'panel' }, w.b.owner),
    );
    expectError(await api.call(w.owner, { method: 'GET', url: canned(`/${theirs.id}`) }), 404, 'not_found');
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: canned(`/${theirs.id}`), payload: { body: 'x' } }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: canned(`/${theirs.id}`) }), 404);
    expectError(
      await api.call(w.owner, { method: 'POST', url: canned(`/${theirs.id}/render`), payload: {} }),
      404,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: canned(`/${mine.id}/render`),
        payload: { ticketId: ticket.id },
      }),
      404,
    );
    const row = await db.admin.query('select body from canned_replies where id = $1', [theirs.id]);
    expect(row.rows[0].body).toBe('B text');
  });

  it('refuses bad input with the error shape', async () => {
    const r = await addCanned(w.owner, 'input', 'text');
    await expectBadBodiesRefused(api, w.owner, 'POST', canned());
    await expectBadBodiesRefused(api, w.owner, 'PATCH', canned(`/${r.id}`), { title: 5, body: false });
    await expectBadBodiesRefused(api, w.owner, 'POST', canned(`/${r.id}/render`), { ticketId: 12 });
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: canned(),
        payload: { shortcut: 'has space', title: 't', body: 'b' },
      }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: canned(),
        payload: { shortcut: 'long', title: 't', body: 'b'.repeat(2001) },
      }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: canned(`/${r.id}/render`),
        payload: { variables: { secret: 'x' } },
      }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'GET', url: canned('/refund') }), 422);
  });
});
