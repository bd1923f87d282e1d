import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { type Harness, interact, settle, startHarness } from './harness.js';

/**
 * A French server (`preferred_locale` fr), for what GameMod writes there that outlives the
 * interaction: the subjects the context menus store, a forum post's first line, the transcript
 * page the workers store and post on close. And validation details, told to each asker in their
 * own language while the API keeps zod's English.
 */
let h: Harness;
const ch = (name: string) => h.guild.channels[name] ?? '';

beforeAll(async () => {
  h = await startHarness({ workers: true, guildLocale: 'fr' });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const subjectOf = async (interactionId: string) =>
  (
    await h.db.admin.query<{ subject: string; id: string; number: number; discord_channel_id: string }>(
      'select id, number, subject, discord_channel_id from tickets where org_id = $1 and external_id = $2',
      [h.org.orgId, interactionId],
    )
  ).rows[0];

const firstBody = async (ticketId: string) =>
  (
    await h.db.admin.query<{ body: string }>(
      'select body from messages where ticket_id = $1 order by created_at, id limit 1',
      [ticketId],
    )
  ).rows[0]?.body;

describe('subjects the bot stores, in the server’s language whoever asks', () => {
  it('a report of a message, asked from an English client', async () => {
    const reported = h.fake.userMessage(ch('support'), h.users.other, 'achetez de l’or ici');
    const a = await interact(h, {
      kind: 'messageContextMenu',
      name: 'Open a ticket about this message',
      guildId: h.guild.id,
      channelId: ch('support'),
      userId: h.users.player,
      locale: 'en-US',
      targetMessageId: reported.id,
    });
    // The reporter's own answer is in their language; the stored subject in the server's.
    expect(a.content).toMatch(/^Thanks, staff will look at it in ticket #\d+/);
    const t = await subjectOf(a.handle.id);
    expect(t?.subject).toBe('Signalement : un message de other');
    // So is the first message it is stored with: GameMod's label and the link's.
    expect(await firstBody(t?.id ?? '')).toBe(
      `**Texte du message**\nachetez de l’or ici\n\nMessage signalé : https://discord.com/channels/${h.guild.id}/${ch('support')}/${reported.id}\n> achetez de l’or ici`,
    );
  });

  it('a ticket staff open for a member, asked from a German client', async () => {
    const a = await interact(h, {
      kind: 'userContextMenu',
      name: 'Open a ticket for this user',
      guildId: h.guild.id,
      channelId: ch('support'),
      userId: h.users.moderator,
      locale: 'de',
      targetUserId: h.users.player,
    });
    expect(a.content).toMatch(/^Ticket #\d+ für <@\d+> eröffnet/);
    const t = await subjectOf(a.handle.id);
    expect(t?.subject).toBe('Ticket pour Player One');
    expect(await firstBody(t?.id ?? '')).toBe(`**Ouvert par l’équipe**\n<@${h.users.moderator}>`);
  });
});

describe('a forum post’s first line', () => {
  it('names the player in the server’s language', async () => {
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(
        tx,
        h.guild.id,
        { categories: { [h.category.id]: { mode: 'forum', channelId: ch('help-forum') } } },
        SYSTEM,
      ),
    );
    try {
      const base = { guildId: h.guild.id, channelId: ch('support'), userId: h.users.other, locale: 'en-US' };
      await interact(h, { ...base, kind: 'button', customId: `gm:open:${h.category.id}` });
      const opened = await interact(h, {
        ...base,
        kind: 'modalSubmit',
        customId: `gm:form:${h.category.id}`,
        fields: { summary: 'Sauvegarde perdue', steps: 'Charger la partie' },
      });
      expect(opened.content).toMatch(/^Your ticket #\d+ is open/);
      const post = h.fake.requests({ method: 'POST', path: `/channels/${ch('help-forum')}/threads` }).at(-1);
      const first = (post?.body as { message?: { content?: string } } | undefined)?.message?.content ?? '';
      expect(first).toMatch(new RegExp(`^Nouveau ticket pour <@${h.users.other}>`));
    } finally {
      await withTenant(h.db.app, h.org.orgId, (tx) =>
        updateGuildSettings(
          tx,
          h.guild.id,
          { categories: { [h.category.id]: { mode: 'thread', channelId: ch('support') } } },
          SYSTEM,
        ),
      );
    }
  });
});

describe('the transcript the workers store and post on close', () => {
  it('is a French page, its text escaped', async () => {
    const base = { guildId: h.guild.id, channelId: ch('support'), userId: h.users.agent, locale: 'en-US' };
    await interact(h, { ...base, kind: 'button', customId: `gm:open:${h.category.id}` });
    const opened = await interact(h, {
      ...base,
      kind: 'modalSubmit',
      customId: `gm:form:${h.category.id}`,
      fields: { summary: 'Écran noir <b>', steps: 'Lancer le jeu' },
    });
    const t = await subjectOf(opened.handle.id);
    if (!t) throw new Error('no ticket');
    const closed = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'close',
      guildId: h.guild.id,
      channelId: t.discord_channel_id,
      userId: h.users.moderator,
      locale: 'de',
      options: [{ name: 'reason', value: 'pilote <mis à jour>' }],
    });
    expect(closed.content).toBe(`Ticket #${t.number} geschlossen.`);
    const key = `orgs/${h.org.orgId}/transcripts/${t.id}.html`;
    await settle(h, async () => h.objects.has(key), 15_000);
    const html = h.objects.get(key)?.toString() ?? '';
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain(`<h1>Ticket #${t.number}: Bug report: Écran noir &lt;b&gt;</h1>`);
    const date = String.raw`\d{1,2} \S+ \d{4} à \d{2}:\d{2} UTC`;
    expect(html).toMatch(
      new RegExp(
        `<p>Demandeur : agent · ouvert le ${date} · fermé le ${date} par Mod Erator · motif : pilote &lt;mis à jour&gt;</p>`,
      ),
    );
    // The opener's answers, as the bot posted them: a player's line from Discord.
    expect(html).toMatch(/<span>joueur · Discord<\/span> <time datetime="[^"]+">[^<]+UTC<\/time>/);
    expect(html).toContain('(connexion de l’équipe)');
    expect(html).not.toMatch(/Requester|opened|No messages|web transcript/);
    // The same page is the file the transcript channel gets, under its French notice.
    const notice = () =>
      [...(h.fake.state.messages.get(ch('transcripts'))?.values() ?? [])].find((m) =>
        m.content.startsWith(`Ticket #${t.number} ·`),
      ) as unknown as { content: string; attachments: { filename: string }[] } | undefined;
    await settle(h, async () => !!notice(), 15_000);
    expect(notice()?.content).toContain('\nFermé par Mod Erator : pilote <mis à jour>\n');
    expect(notice()?.attachments.map((a) => a.filename)).toEqual([`ticket-${t.number}.html`]);
  });
});

describe('validation details', () => {
  it('name what is wrong in the asker’s language', async () => {
    const limits = await interact(h, {
      kind: 'chatInput',
      name: 'setup',
      subcommand: 'limits',
      guildId: h.guild.id,
      channelId: ch('support'),
      userId: h.users.owner,
      locale: 'de',
      options: [{ name: 'max_open', value: 0 }],
    });
    expect(limits.content).toBe('Das wird nicht angenommen: mindestens 1');
    const t = (
      await h.db.admin.query<{ thread: string }>(
        `select discord_channel_id as thread from tickets where org_id = $1 and status <> 'closed'
         and discord_channel_id is not null order by number limit 1`,
        [h.org.orgId],
      )
    ).rows[0];
    const tag = (locale: string) =>
      interact(h, {
        kind: 'chatInput',
        name: 'ticket',
        subcommandGroup: 'tag',
        subcommand: 'add',
        guildId: h.guild.id,
        channelId: t?.thread ?? '',
        userId: h.users.moderator,
        locale,
        options: [{ name: 'tag', value: 'mauvais tag !' }],
      });
    expect((await tag('fr')).content).toBe('Ce n’est pas accepté : lettres, chiffres, - et _, 40 au maximum');
    expect((await tag('pt-BR')).content).toBe('Isso não é aceito: letras, números, - e _, no máximo 40');
    expect((await tag('en-US')).content).toBe('That is not accepted: letters, digits, - and _, at most 40');
  });
});
