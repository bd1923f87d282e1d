import { PermissionFlagsBits as P } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, interact, settle, startHarness } from './harness.js';
import { modmail } from './modmail-support.js';

/**
 * A French server (`preferred_locale` fr): what the bot and the workers post there on their own
 * (the ticket's summary and its buttons, its redraws, the transcript notice) and modmail's first
 * answer to a player who wrote by DM are in French. Answers to an interaction still follow the
 * asker's own client: a German admin reads a missing permission, and a refusal raised in db/, in
 * German.
 */
let h: Harness;
let m: ReturnType<typeof modmail>;
const ch = (name: string) => h.guild.channels[name] ?? '';

type Posted = {
  content: string;
  embeds: { description?: string; footer?: { text: string }; fields?: { name: string }[] }[];
  components: { components: { label?: string; placeholder?: string; options?: { label: string }[] }[] }[];
};
const posted = (channelId: string) =>
  [...(h.fake.state.messages.get(channelId)?.values() ?? [])] as unknown as Posted[];
const ticketRow = async (number: number) =>
  (
    await h.db.admin.query<{ id: string; thread: string; sid: string; locale: string | null }>(
      `select id, discord_channel_id as thread, discord_summary_message_id as sid, locale from tickets
       where org_id = $1 and number = $2`,
      [h.org.orgId, number],
    )
  ).rows[0];

beforeAll(async () => {
  h = await startHarness({ workers: true, guildLocale: 'fr' });
  m = modmail(h);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function openAs(userId: string, locale: string, summary: string) {
  const base = { guildId: h.guild.id, channelId: ch('support'), userId, locale };
  await interact(h, { ...base, kind: 'button', customId: `gm:open:${h.category.id}` });
  return interact(h, {
    ...base,
    kind: 'modalSubmit',
    customId: `gm:form:${h.category.id}`,
    fields: { summary, steps: 'Lancer le jeu' },
  });
}

describe("a French server's own posts", () => {
  it("draw a ticket's summary and its buttons in French, whatever the player's client speaks", async () => {
    const opened = await openAs(h.users.player, 'en-US', 'Crash au démarrage');
    // The player's own answer is in their language.
    expect(opened.content).toMatch(/^Your ticket #1 is open/);
    const t = await ticketRow(1);
    if (!t) throw new Error('no ticket');
    const summary = posted(t.thread).find((p) => p.embeds.length);
    expect(summary?.embeds[0]?.description).toBe(
      'Catégorie : **Bug report**\nL’équipe répondra ici. Écrivez ci-dessous pour ajouter des détails ou des captures d’écran.',
    );
    expect(summary?.embeds[0]?.footer?.text).toBe('Priorité : Normale');
    const [buttons, select] = summary?.components ?? [];
    expect(buttons?.components.map((c) => c.label)).toEqual(['Prendre en charge', 'Fermer']);
    expect(select?.components[0]?.placeholder).toBe('Définir la priorité');
    expect(select?.components[0]?.options?.map((o) => o.label)).toEqual([
      'Basse',
      'Normale',
      'Haute',
      'Urgente',
    ]);
  });

  it('are redrawn by the workers in French after a claim, and the transcript notice is French', async () => {
    const t = await ticketRow(1);
    if (!t) throw new Error('no ticket');
    const claim = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
      locale: 'en-US',
    });
    expect(claim.content).toBe('You claimed ticket #1.');
    const footer = () =>
      (
        h.fake.state.messages.get(t.thread)?.get(t.sid)?.embeds[0] as
          | { footer?: { text: string } }
          | undefined
      )?.footer?.text ?? '';
    await settle(h, async () => footer().includes('Pris en charge'), 15_000);
    expect(footer()).toBe('Priorité : Normale · Statut : ouvert · Pris en charge par Mod Erator');
    const closed = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
      locale: 'en-US',
      options: [{ name: 'reason', value: 'corrigé' }],
    });
    expect(closed.content).toBe('Ticket #1 closed.');
    const notice = () => posted(ch('transcripts')).find((p) => p.content.startsWith('Ticket #1 '));
    await settle(h, async () => !!notice(), 15_000);
    expect(notice()?.content).toMatch(
      /^Ticket #1 · Bug report: Crash au démarrage\nFermé par Mod Erator : corrigé\nTranscription : http/,
    );
    await settle(h, async () => footer().includes('fermé'), 15_000);
    expect(footer()).toBe('Priorité : Normale · Statut : fermé · Pris en charge par Mod Erator');
  });
});

describe("a French server's panel", () => {
  it('/panel posts its default title, text and select in French, whoever runs it', async () => {
    const answer = await interact(h, {
      kind: 'chatInput',
      name: 'panel',
      guildId: h.guild.id,
      channelId: ch('support'),
      userId: h.users.owner,
      locale: 'en-US',
      options: [{ name: 'style', value: 'select' }],
    });
    expect(answer.content).toBe('Panel posted.');
    const id = (
      await h.db.admin.query('select message_id from discord_panels where org_id = $1', [h.org.orgId])
    ).rows[0]?.message_id;
    const panel = h.fake.state.messages.get(ch('support'))?.get(id) as unknown as Posted | undefined;
    expect(panel?.embeds[0]).toMatchObject({
      title: 'Besoin d’aide ?',
      description: 'Choisissez un sujet ci-dessous pour ouvrir un ticket privé avec notre équipe.',
    });
    expect(panel?.components[0]?.components[0]?.placeholder).toBe('Choisir un sujet');
  });
});

describe("answers in the asker's language", () => {
  it('a refusal raised in db/ reaches a German moderator in German', async () => {
    const t = await ticketRow(1);
    if (!t) throw new Error('no ticket');
    const refused = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
      locale: 'de',
    });
    expect(refused.content).toBe('Ticket #1 ist geschlossen; öffne es wieder, bevor du es zuweist.');
    // The API and the logs keep the English words.
    const en = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: t.thread,
      userId: h.users.moderator,
      locale: 'en-US',
    });
    expect(en.content).toBe('ticket #1 is closed; reopen it before assigning it');
  });

  it('a permission Discord refused is named to a German player in German, with Discord’s German names', async () => {
    h.fake.updateChannel(ch('support'), {
      permission_overwrites: [
        { id: h.guild.botRoleId, type: 0, allow: '0', deny: String(P.CreatePrivateThreads) },
      ],
    });
    try {
      const refused = await openAs(h.users.other, 'de', 'Absturz');
      expect(refused.content).toBe(
        `Mir fehlt die Discord-Berechtigung **Private Threads erstellen** in <#${ch('support')}>. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.`,
      );
    } finally {
      h.fake.updateChannel(ch('support'), { permission_overwrites: [] });
    }
  });

  it('/setup answers a Spanish admin in Spanish, naming the missing permissions in Spanish', async () => {
    h.fake.updateChannel(ch('transcripts'), {
      permission_overwrites: [
        { id: h.guild.botRoleId, type: 0, allow: '0', deny: String(P.AttachFiles | P.EmbedLinks) },
      ],
    });
    const setup = (options: { name: string; value: string; type?: number }[]) =>
      interact(h, {
        kind: 'chatInput',
        name: 'setup',
        subcommand: 'channels',
        guildId: h.guild.id,
        channelId: ch('support'),
        userId: h.users.owner,
        locale: 'es-ES',
        options,
      });
    try {
      const refused = await setup([{ name: 'transcripts', value: ch('transcripts'), type: 7 }]);
      expect(refused.content).toBe(
        `Me faltan **Insertar enlaces** y **Adjuntar archivos** en <#${ch('transcripts')}>. Dáselos a mi rol (o en los permisos de ese canal) y vuelve a ejecutarlo. No se guardó nada.`,
      );
    } finally {
      h.fake.updateChannel(ch('transcripts'), { permission_overwrites: [] });
    }
    expect((await setup([{ name: 'transcripts', value: ch('transcripts'), type: 7 }])).content).toBe(
      'Canales guardados.',
    );
  });
});

describe("modmail in the server's language", () => {
  it("answers a first DM from a player GameMod has not seen in the server's language", async () => {
    const newcomer = h.fake.addUser({ username: 'newcomer' }).id;
    h.fake.addMember(h.guild.id, newcomer, []);
    h.fake.userDm(newcomer, 'Mon jeu plante sur l’écran titre');
    await settle(h, async () => m.botDms(newcomer).some((x) => /est ouvert/.test(x.content)), 15_000);
    expect(m.botDms(newcomer).at(-1)?.content).toBe(
      'Votre ticket #2 auprès de **Alpha Studio** est ouvert. L’équipe répondra ici ; tout ce que vous envoyez dans cette conversation y est ajouté.',
    );
    // The staff thread's summary says it was opened by DM, in French too.
    const t = await m.dmTicket(newcomer);
    const summary = posted(t?.discord_channel_id ?? '').find((p) => p.embeds.length);
    expect(summary?.embeds[0]?.description).toMatch(
      /Ouvert par message privé : le joueur n’est pas dans ce fil/,
    );
  });

  it('answers a player in the language last seen for them rather than the server’s', async () => {
    // The German player's earlier ticket (refused above) left no trace; this one is opened.
    const opened = await openAs(h.users.other, 'de', 'Absturz beim Start');
    expect(opened.content).toMatch(/^Dein Ticket #3 ist eröffnet/);
    h.fake.userDm(h.users.other, 'Noch eine Frage');
    await settle(h, async () => m.botDms(h.users.other).some((x) => /eröffnet/.test(x.content)), 15_000);
    expect(m.botDms(h.users.other).at(-1)?.content).toBe(
      'Dein Ticket #4 bei **Alpha Studio** ist eröffnet. Das Team antwortet hier; alles, was du in diese DM schickst, kommt dazu.',
    );
  });
});

describe("the summary's own field names", () => {
  it('name the answer to /ticket open in the server’s language', async () => {
    const opened = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'open',
      guildId: h.guild.id,
      channelId: ch('support'),
      userId: h.users.player,
      locale: 'pt-BR',
      options: [{ name: 'subject', value: 'Erro ao salvar' }],
    });
    expect(opened.content).toMatch(/^Seu ticket #5 está aberto/);
    const t = await ticketRow(5);
    const summary = posted(t?.thread ?? '').find((p) => p.embeds.length);
    expect(summary?.embeds[0]?.fields?.map((f) => f.name)).toEqual(['Sujet']);
  });
});
