import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setDiscordSide } from '../../db/discord-sync.js';
import { refreshTicketSentiment } from '../../db/message-sentiment.js';
import { recordTransitions, slaSnapshot } from '../../db/sla-clocks.js';
import { createPolicy } from '../../db/sla-policies.js';
import { createTeam, deleteTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let admin: Caller;
let token: Caller;
let base: string;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Etag');
  admin = await api.sessionFor(org.ownerId);
  token = await api.tokenFor(db.app, org.orgId, ['tickets:read', 'tickets:write']);
  base = `/v1/orgs/${org.orgId}/tickets`;
});
afterAll(() => api.close());

const open = async (subject: string) =>
  (await api.call(token, { method: 'POST', url: base, payload: { subject } })).json() as { id: string };
const etagOf = async (id: string) =>
  (await api.call(token, { method: 'GET', url: `${base}/${id}` })).headers.etag as string | undefined;

describe('optimistic concurrency on ticket edits', () => {
  it('refuses an edit made against a stale version (If-Match) instead of silently overwriting', async () => {
    const t = await open('Original');
    const read = await api.call(token, { method: 'GET', url: `${base}/${t.id}` });
    const etag = read.headers.etag;
    await api.call(admin, {
      method: 'PATCH',
      url: `${base}/${t.id}`,
      payload: { subject: 'Edited by staff' },
    });
    const stale = await api.call(token, {
      method: 'PATCH',
      url: `${base}/${t.id}`,
      payload: { subject: 'Integration overwrite' },
      headers: { 'if-match': String(etag ?? '"v-read-earlier"') },
    });
    expect(etag, 'GET /tickets/:id gives no ETag to condition an edit on').toBeDefined();
    expect(stale.statusCode).toBe(412);
    expect(stale.json().error.code).toBe('precondition_failed');
    const now = await api.call(token, { method: 'GET', url: `${base}/${t.id}` });
    expect(now.json().ticket.subject).toBe('Edited by staff');
  });

  it('applies an edit made against the current version and answers with the new ETag', async () => {
    const t = await open('Current');
    const etag = await etagOf(t.id);
    expect(etag).toMatch(/^W\/"[^"]+"$/);
    const res = await api.call(token, {
      method: 'PATCH',
      url: `${base}/${t.id}`,
      payload: { subject: 'Changed', customFields: { platform: 'pc' } },
      headers: { 'if-match': String(etag) },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().subject).toBe('Changed');
    expect(res.headers.etag).toMatch(/^W\/"[^"]+"$/);
    expect(res.headers.etag).not.toBe(etag);
    // The answer's ETag is the version a GET now shows: the next edit can be conditioned on it.
    expect(await etagOf(t.id)).toBe(res.headers.etag);
    const next = await api.call(token, {
      method: 'PATCH',
      url: `${base}/${t.id}`,
      payload: { subject: 'Changed again' },
      headers: { 'if-match': String(res.headers.etag) },
    });
    expect(next.statusCode).toBe(200);
  });

  it('takes the version with or without the weak prefix, in a list, and * as "the ticket exists"', async () => {
    const t = await open('Forms');
    const etag = String(await etagOf(t.id));
    const strong = etag.replace(/^W\//, '');
    const patch = (ifMatch: string, subject: string) =>
      api.call(token, {
        method: 'PATCH',
        url: `${base}/${t.id}`,
        payload: { subject },
        headers: { 'if-match': ifMatch },
      });
    const first = await patch(strong, 'Strong form');
    expect(first.statusCode).toBe(200);
    const listed = await patch(`"nope", ${first.headers.etag}`, 'Listed');
    expect(listed.statusCode).toBe(200);
    expect((await patch('*', 'Any version')).statusCode).toBe(200);
    expect((await patch(etag, 'Stale again')).statusCode).toBe(412);
    // A missing ticket is still a 404, whatever the condition.
    const missing = await api.call(token, {
      method: 'PATCH',
      url: `${base}/00000000-0000-4000-8000-000000000000`,
      payload: { subject: 'x' },
      headers: { 'if-match': '*' },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('without If-Match an edit behaves as before (last write wins)', async () => {
    const t = await open('Unconditional');
    await api.call(admin, { method: 'PATCH', url: `${base}/${t.id}`, payload: { subject: 'Staff' } });
    const res = await api.call(token, {
      method: 'PATCH',
      url: `${base}/${t.id}`,
      payload: { subject: 'Late' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().subject).toBe('Late');
  });

  it('conditions every one-action route on the version and changes nothing when stale', async () => {
    const t = await open('Actions');
    const stale = String(await etagOf(t.id));
    await api.call(admin, { method: 'PATCH', url: `${base}/${t.id}`, payload: { subject: 'Moved on' } });
    const actions: Array<[string, unknown]> = [
      ['status', { status: 'pending' }],
      ['priority', { priority: 'urgent' }],
      ['tags', { add: ['billing'] }],
      ['assign', { assigneeId: org.ownerId }],
      ['transfer', { teamId: null }],
      ['close', {}],
    ];
    for (const [action, payload] of actions) {
      const res = await api.call(token, {
        method: 'POST',
        url: `${base}/${t.id}/${action}`,
        payload: payload as Record<string, unknown>,
        headers: { 'if-match': stale },
      });
      expect(res.statusCode, action).toBe(412);
    }
    const claim = await api.call(admin, {
      method: 'POST',
      url: `${base}/${t.id}/claim`,
      headers: { 'if-match': stale },
    });
    expect(claim.statusCode, 'claim').toBe(412);
    const after = (await api.call(token, { method: 'GET', url: `${base}/${t.id}` })).json().ticket;
    expect(after).toMatchObject({ status: 'open', priority: 'normal', tags: [], assigneeId: null });

    // With the current version each action goes through and hands back the next one.
    let etag = String(await etagOf(t.id));
    for (const [action, payload] of actions) {
      const res = await api.call(token, {
        method: 'POST',
        url: `${base}/${t.id}/${action}`,
        payload: payload as Record<string, unknown>,
        headers: { 'if-match': etag },
      });
      expect(res.statusCode, action).toBe(200);
      expect(res.headers.etag, action).toMatch(/^W\/"[^"]+"$/);
      etag = String(res.headers.etag);
    }
    const reopened = await api.call(token, {
      method: 'POST',
      url: `${base}/${t.id}/reopen`,
      headers: { 'if-match': stale },
    });
    expect(reopened.statusCode, 'reopen').toBe(412);
    const ok = await api.call(token, {
      method: 'POST',
      url: `${base}/${t.id}/reopen`,
      headers: { 'if-match': etag },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().status).toBe('open');
  });

  it('changes the version when the conversation moves on, a reply included', async () => {
    const t = await open('Replies');
    const before = await etagOf(t.id);
    const r = await api.call(admin, {
      method: 'POST',
      url: `${base}/${t.id}/replies`,
      payload: { body: 'Hi' },
    });
    expect(r.statusCode).toBe(201);
    expect(await etagOf(t.id)).not.toBe(before);
  });

  it('keeps the version through the background writes nobody edits (SLA clock, Discord side)', async () => {
    const t = await open('Background');
    const etag = String(await etagOf(t.id));
    await withTenant(db.app, org.orgId, async (tx) => {
      await createPolicy(tx, { name: 'Background', firstResponseMinutes: 60 }, org.owner);
      // What the SLA worker does on every ticket event: the clocks' transitions and the due time.
      await recordTransitions(tx, await slaSnapshot(tx, t.id, { lock: true }));
      // What the bot and the Discord sync record once the ticket has its thread and summary.
      await setDiscordSide(tx, {
        ticketId: t.id,
        guildId: '112233445566778899',
        channelId: '212233445566778899',
        mode: 'thread',
        summaryMessageId: '312233445566778899',
      });
      // What a message edit or deletion runs: here it finds nothing to change in the sentiment.
      await refreshTicketSentiment(tx, [t.id]);
    });
    const seen = (await api.call(token, { method: 'GET', url: `${base}/${t.id}` })).json();
    expect(seen.sla?.metric, 'the SLA worker set no due time').toBe('first_response');
    expect(seen.ticket.discordChannelId).toBe('212233445566778899');
    const res = await api.call(token, {
      method: 'PATCH',
      url: `${base}/${t.id}`,
      payload: { subject: 'Edited after the sync' },
      headers: { 'if-match': etag },
    });
    expect(res.statusCode, 'a background write made the edit conflict').toBe(200);
    expect(res.json().subject).toBe('Edited after the sync');
  });

  it('changes the version when a field changes outside the ticket functions (a deleted team)', async () => {
    const t = await open('Team gone');
    const team = await withTenant(db.app, org.orgId, (tx) => createTeam(tx, { name: 'Gone' }, org.owner));
    const moved = await api.call(token, {
      method: 'POST',
      url: `${base}/${t.id}/transfer`,
      payload: { teamId: team.id },
    });
    expect(moved.statusCode).toBe(200);
    const etag = String(moved.headers.etag);
    // The team's foreign key clears tickets.team_id: no ticket function runs, the field changes.
    await withTenant(db.app, org.orgId, (tx) => deleteTeam(tx, team.id, org.owner));
    expect(await etagOf(t.id)).not.toBe(etag);
    const stale = await api.call(token, {
      method: 'POST',
      url: `${base}/${t.id}/transfer`,
      payload: { teamId: null },
      headers: { 'if-match': etag },
    });
    expect(stale.statusCode).toBe(412);
  });

  it('documents If-Match, the ETag and the 412 in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const patch = doc.paths['/v1/orgs/{orgId}/tickets/{ticketId}'].patch;
    const close = doc.paths['/v1/orgs/{orgId}/tickets/{ticketId}/close'].post;
    for (const op of [patch, close]) {
      const names = (op.parameters as Array<{ in: string; name: string }>)
        .filter((p) => p.in === 'header')
        .map((p) => p.name);
      expect(names).toContain('if-match');
      expect(op.responses['412']).toEqual({ $ref: '#/components/responses/PreconditionFailed' });
      expect(op.responses['200'].headers?.ETag).toBeDefined();
    }
    // The action routes still take an Idempotency-Key.
    expect(close.parameters.map((p: { name: string }) => p.name)).toContain('idempotency-key');
    const get = doc.paths['/v1/orgs/{orgId}/tickets/{ticketId}'].get;
    expect(get.responses['200'].headers?.ETag).toBeDefined();
  });
});
