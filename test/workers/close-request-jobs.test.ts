import { describe, expect, it } from 'vitest';
import { impliedJobs } from '../../workers/event-jobs.js';

// What the relay makes of the close-request and category events (pure: the event alone decides).

const base = {
  id: 41,
  orgId: '00000000-0000-4000-8000-000000000001',
  aggregateType: 'ticket',
  aggregateId: '00000000-0000-4000-8000-000000000002',
  createdAt: new Date(),
};
const requestId = '00000000-0000-4000-8000-000000000003';
const ticket = { id: base.aggregateId, discordChannelId: '123456789012345678' };

describe('jobs implied by close requests and category changes', () => {
  it('a close request: the ticket sync posts it, the expiry waits in Redis until its due time', () => {
    const dueAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const jobs = impliedJobs({
      ...base,
      eventType: 'ticket.close_requested',
      payload: { ticket, closeRequest: { id: requestId, dueAt, reason: null, status: 'pending' } },
    });
    expect(jobs.map((j) => `${j.name}@${j.opts.jobId}`)).toEqual(
      expect.arrayContaining(['discord.ticket_sync@ts-41', `closerequest.expire@cre-${requestId}`]),
    );
    const expiry = jobs.find((j) => j.name === 'closerequest.expire');
    expect(expiry?.payload).toEqual({ orgId: base.orgId, requestId });
    // The delay is what is left until the due time (computed when relayed).
    expect(expiry?.opts.delay).toBeGreaterThan(9 * 60_000);
    expect(expiry?.opts.delay).toBeLessThanOrEqual(10 * 60_000);
    // Relayed after its due time (a long outage): due at once, not a negative delay.
    const late = impliedJobs({
      ...base,
      eventType: 'ticket.close_requested',
      payload: { ticket, closeRequest: { id: requestId, dueAt: new Date(0).toISOString() } },
    }).find((j) => j.name === 'closerequest.expire');
    expect(late?.opts.delay).toBe(0);
  });

  it('a decline or a withdrawal asks the ticket sync to show it; a ticket without Discord costs nothing', () => {
    for (const eventType of ['ticket.close_request_declined', 'ticket.close_request_cancelled']) {
      expect(impliedJobs({ ...base, eventType, payload: { ticket } }).map((j) => j.name)).toContain(
        'discord.ticket_sync',
      );
      expect(
        impliedJobs({ ...base, eventType, payload: { ticket: { ...ticket, discordChannelId: null } } }).map(
          (j) => j.name,
        ),
      ).not.toContain('discord.ticket_sync');
    }
  });

  it('a category change edits the panels, once per event', () => {
    const jobs = impliedJobs({
      ...base,
      aggregateType: 'category',
      eventType: 'category.changed',
      payload: { categoryId: base.aggregateId, change: 'updated' },
    });
    expect(jobs.map((j) => `${j.name}@${j.opts.jobId}`)).toEqual(['discord.panel_sync@ps-41']);
  });
});
