import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, interact, startHarness } from './harness.js';

/**
 * The bot's own answers (confirmations, refusals, forms) follow the client language of whoever
 * pressed or typed: a German player and a Brazilian moderator each read theirs, in the same
 * ticket, and someone whose language GameMod lacks gets the server's.
 */
let h: Harness;
let thread: string;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const inThread = (userId: string, locale: string) => ({
  kind: 'chatInput' as const,
  name: 'ticket',
  guildId: h.guild.id,
  channelId: thread,
  userId,
  locale,
});

describe('answers in the language of the person who asked', () => {
  it('a German player: the form, the opened ticket, an unknown category and refused buttons', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    const open = { guildId: h.guild.id, channelId, userId: h.users.player, locale: 'de' };
    const form = await interact(h, { ...open, kind: 'button', customId: `gm:open:${h.category.id}` });
    expect(form.type).toBe(9);
    expect((form.data as { title: string }).title).toBe(`Ticket eröffnen: ${h.category.name}`.slice(0, 45));
    const opened = await interact(h, {
      ...open,
      kind: 'modalSubmit',
      customId: `gm:form:${h.category.id}`,
      fields: { summary: 'Absturz beim Start', steps: 'Starten' },
    });
    expect(opened.content).toMatch(/^Dein Ticket #1 ist eröffnet: <#\d+>$/);
    thread = (
      await h.db.admin.query('select discord_channel_id as c from tickets where org_id = $1', [h.org.orgId])
    ).rows[0].c;

    const again = await interact(h, {
      ...inThread(h.users.player, 'de'),
      subcommand: 'open',
      channelId,
      options: [
        { name: 'subject', value: 'Noch eins' },
        { name: 'category', value: 'Gibt es nicht' },
      ],
    });
    expect(again.content).toBe('Es gibt keine Kategorie namens „Gibt es nicht“.');

    const claim = await interact(h, {
      kind: 'button',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
      customId: 'gm:claim:-',
      locale: 'de',
    });
    expect(claim.content).toBe(
      'Dafür brauchst du die Berechtigung `tickets.assign`. Bitte einen Admin, eine deiner Discord-Rollen einer GameMod-Rolle zuzuordnen, die sie hat.',
    );

    const stale = await interact(h, {
      kind: 'button',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.player,
      customId: 'gm:gone-away:1',
      locale: 'de',
    });
    expect(stale.content).toBe('Dieser Button ist nicht mehr gültig.');
  });

  it('a Brazilian moderator: claim, priority, a note, the notes, the close form', async () => {
    const claim = await interact(h, { ...inThread(h.users.moderator, 'pt-BR'), subcommand: 'claim' });
    expect(claim.content).toBe('Você assumiu o ticket #1.');
    const priority = await interact(h, {
      ...inThread(h.users.moderator, 'pt-BR'),
      subcommand: 'priority',
      options: [{ name: 'level', value: 'high' }],
    });
    expect(priority.content).toBe('Prioridade definida como high.');
    const note = await interact(h, {
      ...inThread(h.users.moderator, 'pt-BR'),
      subcommand: 'note',
      options: [{ name: 'text', value: 'verificar os logs' }],
    });
    expect(note.content).toBe('Nota interna salva (o jogador não a vê).');
    const notes = await interact(h, { ...inThread(h.users.moderator, 'pt-BR'), subcommand: 'notes' });
    const embed = (notes.data as { embeds: { title: string; footer: { text: string } }[] }).embeds[0];
    expect(embed?.title).toBe('Notas internas · ticket #1');
    expect(embed?.footer.text).toBe('Página 1 de 1 · 1 nota · só você vê isto');
    const tooFar = await interact(h, {
      ...inThread(h.users.moderator, 'pt-BR'),
      subcommand: 'notes',
      options: [{ name: 'page', value: 3 }],
    });
    expect(tooFar.content).toBe('Há 1 página de notas; peça a página 1.');
    const close = await interact(h, { ...inThread(h.users.moderator, 'pt-BR'), subcommand: 'close' });
    expect(close.type).toBe(9);
    const modal = JSON.stringify(close.data);
    expect(modal).toContain('"title":"Fechar o ticket"');
    expect(modal).toContain('"label":"Motivo (opcional)"');
    expect(modal).toContain('"placeholder":"Mostrado ao jogador na mensagem de fechamento"');
  });

  it("the same press by an English client stays English; an unknown language gets the server's", async () => {
    const en = await interact(h, { ...inThread(h.users.moderator, 'en-US'), subcommand: 'unclaim' });
    expect(en.content).toBe('Ticket #1 is unassigned again.');
    const guild = h.fake.state.guilds.get(h.guild.id);
    if (!guild) throw new Error('no guild');
    guild.preferred_locale = 'pt-BR';
    try {
      const ja = await interact(h, {
        ...inThread(h.users.moderator, 'ja'),
        subcommand: 'claim',
        channelId: h.guild.channels['support'] ?? '',
      });
      expect(ja.content).toBe('Isto não é o tópico nem o canal de um ticket. Execute dentro de um ticket.');
    } finally {
      guild.preferred_locale = 'en-US';
    }
  });
});
