import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, interact, settle, startHarness } from './harness.js';

/**
 * A player whose Discord speaks German: the ticket keeps their language, and what they are sent
 * after a close (the thread's closing message, the DM, its buttons) and the answers to their own
 * presses (the rating form, the thanks, the transcript link) are in German; staff's commands
 * stay as they are.
 */
let h: Harness;
let ticketId: string;
let thread: string;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  const channelId = h.guild.channels['support'] ?? '';
  await interact(h, {
    kind: 'button',
    guildId: h.guild.id,
    channelId,
    userId: h.users.player,
    customId: `gm:open:${h.category.id}`,
    locale: 'de',
  });
  await interact(h, {
    kind: 'modalSubmit',
    guildId: h.guild.id,
    channelId,
    userId: h.users.player,
    customId: `gm:form:${h.category.id}`,
    fields: { summary: 'Absturz beim Start', steps: 'Starten' },
    locale: 'de',
  });
  const t = (
    await h.db.admin.query('select id, locale, discord_channel_id as c from tickets where org_id = $1', [
      h.org.orgId,
    ])
  ).rows[0];
  expect(t.locale).toBe('de');
  ticketId = t.id;
  thread = t.c;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe("the player's language", () => {
  it('posts the claim notice and the close request into the German ticket in German', async () => {
    const claim = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
    });
    expect(claim.content).toBe('You claimed ticket #1.');
    const posted = () => [...(h.fake.state.messages.get(thread)?.values() ?? [])];
    await settle(
      h,
      async () =>
        posted().some((m) => m.content === `<@${h.users.moderator}> kümmert sich um dieses Ticket.`),
      15_000,
    );
    await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close-request',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [{ name: 'reason', value: 'behoben im Patch 1.2' }],
    });
    await settle(
      h,
      async () => posted().some((m) => m.content.includes('meint, dieses Ticket kann geschlossen werden')),
      15_000,
    );
    const request = posted().find((m) => m.content.includes('meint, dieses Ticket kann geschlossen werden'));
    expect(request?.content).toMatch(
      /^<@\d+> .+ meint, dieses Ticket kann geschlossen werden: behoben im Patch 1\.2\nDürfen wir es schließen\? Ohne Antwort schließt es <t:\d+:R>; wer hier schreibt, hält es offen\.$/,
    );
    const labels = JSON.stringify(request?.components);
    expect(labels).toContain('"label":"Ja, schließen"');
    expect(labels).toContain('"label":"Nein, ich brauche noch Hilfe"');
  });

  it('closes in German: the closing message in the thread, the DM and its buttons', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
      options: [{ name: 'reason', value: 'erledigt' }],
    });
    // The moderator's own answer is in the moderator's (English) client language.
    expect(a.content).toBe('Ticket #1 closed.');
    await settle(h, async () => h.fake.state.channels.get(thread)?.thread_metadata?.locked === true, 15_000);
    const closing = [...(h.fake.state.messages.get(thread)?.values() ?? [])].find((m) =>
      m.content.includes('Dieses Ticket wurde geschlossen: erledigt'),
    );
    // The rating is in the player's DM: the thread only says so (a link there would rate as them).
    expect(closing?.content).toContain(
      'Wie waren wir? Der Bot hat dir eine Nachricht geschickt, mit der du es einmal mit 1 bis 5 Sternen bewerten kannst.',
    );
    expect(JSON.stringify(closing?.components)).not.toContain('/rate/');

    const dm = [...h.fake.state.channels.values()].find(
      (c) => c.type === 1 && c.recipients?.[0] === h.users.player,
    )?.id;
    await settle(h, async () => (h.fake.state.messages.get(dm ?? '')?.size ?? 0) > 0, 15_000);
    const prompt = [...(h.fake.state.messages.get(dm ?? '')?.values() ?? [])][0];
    expect(prompt?.content).toBe(
      'Dein Ticket #1 „Bug report: Absturz beim Start“ wurde geschlossen. Wie waren wir? Bewerte es einmal mit 1 bis 5 Sternen.',
    );
    expect(JSON.stringify(prompt?.components)).toContain('"label":"Verlauf"');
  });

  it('answers the player in German when they rate and ask for the transcript', async () => {
    const dm = [...h.fake.state.channels.values()].find(
      (c) => c.type === 1 && c.recipients?.[0] === h.users.player,
    )?.id as string;
    const prompt = [...(h.fake.state.messages.get(dm)?.values() ?? [])][0];
    const press = await interact(h, {
      kind: 'button',
      channelId: dm,
      userId: h.users.player,
      customId: `gm:rate:${ticketId}:5:${h.guild.id}`,
      messageId: prompt?.id ?? '',
      locale: 'de',
    });
    expect(press.type).toBe(9);
    expect(JSON.stringify(press.data)).toContain('Bewerte dein Ticket: ★★★★★');
    expect(JSON.stringify(press.data)).toContain('Möchtest du noch etwas sagen? (optional)');
    const rated = await interact(h, {
      kind: 'modalSubmit',
      channelId: dm,
      userId: h.users.player,
      customId: `gm:rateform:${ticketId}:5:${h.guild.id}`,
      fields: { comment: '' },
      locale: 'de',
    });
    expect(rated.content).toBe('Danke für deine Bewertung von Ticket #1 ★★★★★.');
    const transcript = await interact(h, {
      kind: 'button',
      channelId: dm,
      userId: h.users.player,
      customId: `gm:transcript:${ticketId}:${h.guild.id}`,
      messageId: prompt?.id ?? '',
      locale: 'fr',
    });
    // Their client switched to French: the answer follows the client, not the ticket.
    expect(transcript.content).toMatch(/^La transcription du ticket #1\. Le lien est valable 60 minutes/);
    expect(JSON.stringify(transcript.data)).toContain('Ouvrir la transcription');
  });
});
