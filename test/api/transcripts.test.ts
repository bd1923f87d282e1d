import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { SYSTEM } from '../../db/changes.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { addNote } from '../../db/ticket-actions.js';
import { close } from '../../db/ticket-status.js';
import { openTicket, reply } from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { TRANSCRIPT_LINK_MINUTES } from '../../lib/ticket-links.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * A ticket's live transcript: the staff page behind `tickets.read`, the player's short-lived signed
 * link, notes left out, and files reached through the API's own signed links (never Discord's
 * expiring CDN links).
 */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let other: OrgFixture;
let owner: Caller;
let outsider: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Transcripts');
  other = await makeOrg(db.app, 'Other studio');
  owner = await api.sessionFor(org.ownerId);
  outsider = await api.sessionFor(other.ownerId);
});
afterAll(() => api.close());

/** A ticket with a player's message carrying a stored file and a Discord-only file, a staff reply and a note. */
async function conversation(subject: string) {
  return withTenant(db.app, org.orgId, async (tx) => {
    const player = await upsertPlayer(tx, { displayName: 'Rin <b>', discordUserId: '700000000000000002' });
    const actor = { type: 'player' as const, id: player.id };
    const { ticket } = await openTicket(tx, { subject, origin: 'discord', requesterId: player.id }, actor);
    const { message } = await reply(
      tx,
      { ticketId: ticket.id, body: 'My sword vanished\nafter the patch', origin: 'discord' },
      actor,
    );
    const stored = await recordAttachment(
      tx,
      {
        messageId: message.id,
        filename: 'crash.log',
        contentType: 'text/plain',
        origin: 'discord',
        sizeBytes: 12,
        storageKey: `orgs/${org.orgId}/attachments/crash-${ticket.id}`,
      },
      actor,
    );
    await recordAttachment(
      tx,
      {
        messageId: message.id,
        filename: 'clip.mp4',
        contentType: 'video/mp4',
        origin: 'discord',
        sizeBytes: 9_000_000,
        externalUrl: 'https://cdn.discordapp.com/attachments/1/2/clip.mp4?ex=1&is=2&hm=3',
      },
      actor,
    );
    await reply(tx, { ticketId: ticket.id, body: 'Restored it for you.', origin: 'api' }, org.owner);
    await addNote(tx, { ticketId: ticket.id, body: 'SECRET-NOTE: checked the logs' }, org.owner);
    return { ticketId: ticket.id, storedId: stored.id };
  });
}

const staffUrl = (orgId: string, ticketId: string) => `/v1/orgs/${orgId}/tickets/${ticketId}/transcript`;

describe('the staff transcript page', () => {
  it('shows the conversation, links stored files through /v1/files and leaves notes out', async () => {
    const { ticketId, storedId } = await conversation('Lost my sword');
    const res = await api.call(owner, { method: 'GET', url: staffUrl(org.orgId, ticketId) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['cache-control']).toBe('private, no-store');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.body).toContain('Lost my sword');
    expect(res.body).toContain('My sword vanished<br>after the patch');
    expect(res.body).toContain('Restored it for you.');
    expect(res.body).toContain('Rin &lt;b&gt;');
    expect(res.body).not.toContain('SECRET-NOTE');
    expect(res.body).not.toContain('<script');
    expect(res.body).not.toContain('cdn.discordapp.com');
    expect(res.body).toMatch(/clip\.mp4 <span class="muted">\(9000000 bytes, not kept\)/);

    const link = res.body.match(/href="([^"]*\/v1\/files\/[^"]*)"/)?.[1]?.replaceAll('&amp;', '&');
    expect(link).toContain(`/v1/files/${storedId}?token=`);
    // The link is the API's signed download link: it names this file and nothing else.
    const other = link?.replace(storedId, ticketId) ?? '';
    const refused = await api.call(null, {
      method: 'GET',
      url: new URL(other).pathname + new URL(other).search,
    });
    expect(refused.statusCode).toBeGreaterThanOrEqual(400);
    expect(refused.statusCode).toBeLessThan(500);
  });

  it("is a 404 to another org's staff, a signed-out browser's sign-in page and an API client's JSON 401", async () => {
    const { ticketId } = await conversation('Private matter');
    const cross = await api.call(outsider, { method: 'GET', url: staffUrl(org.orgId, ticketId) });
    // Not a member: the org's existence isn't confirmed either.
    expect(cross.statusCode).toBe(404);
    expect(cross.body).not.toContain('Private matter');
    // Their own org's id with this ticket: row-level security hides it.
    const hidden = await api.call(outsider, { method: 'GET', url: staffUrl(other.orgId, ticketId) });
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json().error.code).toBe('not_found');

    const browser = await api.call(null, {
      method: 'GET',
      url: staffUrl(org.orgId, ticketId),
      headers: { accept: 'text/html,application/xhtml+xml' },
    });
    expect(browser.statusCode).toBe(401);
    expect(browser.headers['content-type']).toContain('text/html');
    expect(browser.body).toContain(
      `/auth/discord/login?returnTo=${encodeURIComponent(staffUrl(org.orgId, ticketId))}`,
    );
    expect(browser.body).not.toContain('Private matter');

    const client = await api.call(null, { method: 'GET', url: staffUrl(org.orgId, ticketId) });
    expect(client.statusCode).toBe(401);
    expect(client.json().error.code).toBe('unauthenticated');
  });
});

describe("the player's transcript link", () => {
  it('opens its own ticket only, and stops working after an hour', async () => {
    const a = await conversation('Ticket A');
    const b = await conversation('Ticket B');
    const link = new URL(api.app.ticketPages.transcript.url(org.orgId, a.ticketId));
    expect(link.pathname).toMatch(/^\/transcripts\//);

    const res = await api.call(null, { method: 'GET', url: link.pathname });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('Ticket A');
    expect(res.body).not.toContain('Ticket B');
    expect(res.body).not.toContain('SECRET-NOTE');
    expect(String(res.headers['content-security-policy'])).not.toContain('unsafe-inline');
    expect(res.body).toContain(`/v1/files/${a.storedId}?token=`);

    // A rating link for the same ticket is not a transcript link (keys differ per kind).
    const rating = new URL(api.app.ticketPages.rating.url(org.orgId, a.ticketId));
    const wrongKind = rating.pathname.replace('/rate/', '/transcripts/');
    expect((await api.call(null, { method: 'GET', url: wrongKind })).statusCode).toBe(404);
    // A damaged token is the same 404 page.
    const damaged = await api.call(null, { method: 'GET', url: `${link.pathname.slice(0, -2)}xx` });
    expect(damaged.statusCode).toBe(404);
    expect(damaged.body).toContain('This transcript link does not work');

    api.clock.advance((TRANSCRIPT_LINK_MINUTES + 1) * 60_000);
    const late = await api.call(null, { method: 'GET', url: link.pathname });
    expect(late.statusCode).toBe(404);
    expect(late.body).not.toContain('Ticket A');
    // A fresh link (the Transcript button again) works.
    const fresh = new URL(api.app.ticketPages.transcript.url(org.orgId, b.ticketId));
    const again = await api.call(null, { method: 'GET', url: fresh.pathname });
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('Ticket B');
  });

  it('is offered on the rating page', async () => {
    const { ticketId } = await conversation('Rate and read');
    await withTenant(db.app, org.orgId, (tx) => close(tx, { ticketId, reason: 'resolved' }, SYSTEM));
    const rating = new URL(api.app.ticketPages.rating.url(org.orgId, ticketId));
    // The rating page is for the ticket's player, signed in with the Discord account that opened it.
    const player = await upsertDiscordUser(db.app, { discordUserId: '700000000000000002', username: 'rin' });
    const form = await api.call(await api.sessionFor(player.id), { method: 'GET', url: rating.pathname });
    expect(form.statusCode).toBe(200);
    const href = form.body.match(/href="([^"]*\/transcripts\/[^"]*)"/)?.[1];
    expect(href).toBeTruthy();
    const read = await api.call(null, { method: 'GET', url: new URL(href ?? '').pathname });
    expect(read.statusCode).toBe(200);
    expect(read.body).toContain('Rate and read');
  });
});

describe("the page's language", () => {
  it("is the ticket's, for staff and player alike; English without one", async () => {
    const ticketId = await withTenant(db.app, org.orgId, async (tx) => {
      const player = await upsertPlayer(tx, { displayName: 'Bia', discordUserId: '700000000000000003' });
      const actor = { type: 'player' as const, id: player.id };
      const { ticket } = await openTicket(
        tx,
        { subject: 'Perdi meu save', origin: 'discord', requesterId: player.id, locale: 'pt-BR' },
        actor,
      );
      await reply(tx, { ticketId: ticket.id, body: 'Sumiu tudo', origin: 'discord' }, actor);
      await close(tx, { ticketId: ticket.id, reason: 'sem resposta <3' }, org.owner);
      return ticket.id;
    });
    const staff = await api.call(owner, { method: 'GET', url: staffUrl(org.orgId, ticketId) });
    expect(staff.statusCode, staff.body).toBe(200);
    const date = String.raw`\d{1,2} de \S+ de \d{4} \S+ \d{2}:\d{2} UTC`;
    for (const body of [
      staff.body,
      (
        await api.call(null, {
          method: 'GET',
          url: new URL(api.app.ticketPages.transcript.url(org.orgId, ticketId)).pathname,
        })
      ).body,
    ]) {
      expect(body).toContain('<html lang="pt-BR">');
      expect(body).toMatch(
        new RegExp(
          `<p>Solicitante: Bia · aberto em ${date} · fechado em ${date} por [^<·]+ · motivo: sem resposta &lt;3</p>`,
        ),
      );
      expect(body).toContain('<span>jogador · Discord</span>');
      expect(body).not.toMatch(/Requester|opened|closed/);
    }
    // A ticket without a language: English, as before.
    const { ticketId: plain } = await conversation('No language');
    const en = await api.call(owner, { method: 'GET', url: staffUrl(org.orgId, plain) });
    expect(en.body).toContain('<html lang="en-US">');
    expect(en.body).toMatch(
      /<p>Requester: Rin &lt;b&gt; · opened \w+ \d{1,2}, \d{4} at \d{1,2}:\d{2}\s[AP]M UTC<\/p>/,
    );
  });
});
