import { describe, expect, it } from 'vitest';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply } from '../../db/tickets.js';
import { expectError, useSettingsApi } from './settings-support.js';

const { db, api, w } = useSettingsApi('Sentiment');

describe('sentiment in the API', () => {
  it("shows each player message's sentiment and the ticket's latest, none on staff's", async () => {
    const ticketId = await withTenant(db.app, w.a.orgId, async (tx) => {
      const player = await upsertPlayer(tx, { displayName: 'P', discordUserId: '223456789012345678' });
      const actor = { type: 'player' as const, id: player.id };
      const { ticket } = await openTicket(
        tx,
        { subject: 'Lag', body: 'Thanks, love the update', origin: 'discord', requesterId: player.id },
        actor,
      );
      await reply(tx, { ticketId: ticket.id, body: 'Glad to hear it', origin: 'panel' }, w.a.owner);
      await reply(
        tx,
        { ticketId: ticket.id, body: 'Now it lags and crashes, awful', origin: 'discord' },
        actor,
      );
      return ticket.id;
    });
    const res = await api.call(w.owner, { method: 'GET', url: `/v1/orgs/${w.a.orgId}/tickets/${ticketId}` });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(
      body.messages.map((m: { sentiment: { label: string } | null }) => m.sentiment?.label ?? null),
    ).toEqual(['positive', null, 'negative']);
    expect(body.messages[2].sentiment).toEqual({
      score: expect.any(Number),
      comparative: expect.any(Number),
      label: 'negative',
      language: 'en',
    });
    expect(body.ticket.playerSentiment).toEqual({
      label: 'negative',
      score: body.messages[2].sentiment.score,
    });
    const list = await api.call(w.owner, { method: 'GET', url: `/v1/orgs/${w.a.orgId}/tickets` });
    expect(list.json().tickets.find((t: { id: string }) => t.id === ticketId).playerSentiment.label).toBe(
      'negative',
    );
  });

  it('documents the shapes in OpenAPI', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const s = doc.components.schemas;
    expect(s.MessageSentiment.properties.label.enum).toEqual(['positive', 'neutral', 'negative']);
    expect(JSON.stringify(s.Message.properties.sentiment)).toContain('MessageSentiment');
    expect(JSON.stringify(s.Ticket.properties.playerSentiment)).toContain('TicketPlayerSentiment');
  });

  it('takes a sentiment rule condition and names the field of a refused one', async () => {
    const url = `/v1/orgs/${w.a.orgId}/rules`;
    const ok = await api.call(w.owner, {
      method: 'POST',
      url,
      payload: {
        name: 'Upset players first',
        trigger: 'message.player',
        conditions: [{ kind: 'sentiment', of: 'ticket', in: ['negative'], atMost: -3 }],
        actions: [{ type: 'set_priority', priority: 'high' }],
      },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().conditions).toEqual([
      { kind: 'sentiment', of: 'ticket', in: ['negative'], atMost: -3, negate: false },
    ]);
    const bad = await api.call(w.owner, {
      method: 'POST',
      url,
      payload: {
        name: 'Nothing to test',
        trigger: 'message.player',
        conditions: [{ kind: 'sentiment', of: 'message' }],
        actions: [{ type: 'set_priority', priority: 'high' }],
      },
    });
    expectError(bad, 422);
    expect(JSON.stringify(bad.json().error.details)).toContain('body.conditions.0.in');
  });
});
