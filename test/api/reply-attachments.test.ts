import { REST } from '@discordjs/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttachment } from '../../db/attachments.js';
import { SYSTEM } from '../../db/changes.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { deliverMessage } from '../../workers/discord-delivery.js';
import { type Envelope, intakeEmail } from '../../workers/email-intake.js';
import { sendEmailReply } from '../../workers/email-outbound.js';
import { emailOrg, plainMail, quietLogger } from '../email/support.js';
import { useTestDb } from '../support/db.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord/index.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { testDeps, uniquePrefix } from '../workers/support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

// Files staff attach in the reply composer go out with the reply: to the Discord thread, in the
// email reply, and onto the player's transcript page. A file uploaded and never sent stays staff's.

const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;
let fake: FakeDiscord;
let env: ReturnType<typeof testDeps>;
beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Uploads');
  owner = await api.sessionFor(org.ownerId);
  fake = await startFakeDiscord();
  env = testDeps(db.app, uniquePrefix());
  env.deps.discord = new REST({ api: `${fake.url}/api`, retries: 0, timeout: 5_000 }).setToken(fake.botToken);
  env.deps.storage = new LocalStorage(api.storageDir);
});
afterAll(async () => {
  await env.close();
  await fake.close();
  await api.close();
});

const upload = (who: Caller, orgId: string, ticketId: string, filename = 'settings.json') =>
  api.call(who, {
    method: 'POST',
    url: `/v1/orgs/${orgId}/tickets/${ticketId}/attachments?filename=${filename}`,
    headers: { 'content-type': 'application/json' },
    payload: '{"fov":90}',
  });
const sendReply = (who: Caller, orgId: string, ticketId: string, payload: Record<string, unknown>) =>
  api.call(who, { method: 'POST', url: `/v1/orgs/${orgId}/tickets/${ticketId}/replies`, payload });

async function discordTicket(subject = 'Config please') {
  const guild = fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }] });
  const channelId = guild.channels.support as string;
  const ticketId = await withTenant(db.app, org.orgId, async (tx) => {
    const p = await upsertPlayer(tx, { displayName: 'Oto', discordUserId: '700000000000000078' });
    const opened = await openTicket(
      tx,
      {
        subject,
        origin: 'discord',
        requesterId: p.id,
        discordGuildId: guild.id,
        discordChannelId: channelId,
      },
      { type: 'player', id: p.id },
    );
    return opened.ticket.id;
  });
  return { ticketId, channelId };
}

describe("a file staff attach in the panel's reply composer", () => {
  it('goes with the reply to the Discord thread and onto the transcript page', async () => {
    const { ticketId, channelId } = await discordTicket();
    const up = await upload(owner, org.orgId, ticketId);
    expect(up.statusCode).toBe(201);
    const fileId = up.json<{ id: string }>().id;
    const sent = await sendReply(owner, org.orgId, ticketId, {
      body: 'Here is the config.',
      attachmentIds: [fileId],
    });
    expect(sent.statusCode).toBe(201);
    const out = sent.json<{
      message: { id: string };
      attachments: Array<{ id: string; messageId: string }>;
    }>();
    expect(out.attachments).toMatchObject([{ id: fileId, messageId: out.message.id }]);

    await deliverMessage(env.deps, { orgId: org.orgId, messageId: out.message.id });
    const posts = fake
      .requests({ method: 'POST', path: `/api/v10/channels/${channelId}/messages` })
      .filter((r) => r.status === 200);
    expect(posts).toHaveLength(1);
    const posted = posts[0]?.response as { content: string; attachments: Array<{ filename: string }> };
    expect(posted.content).toContain('Here is the config.');
    expect(posted.attachments.map((a) => a.filename)).toEqual(['settings.json']);
    // A second run (a retry) posts nothing more.
    await deliverMessage(env.deps, { orgId: org.orgId, messageId: out.message.id });
    expect(
      fake
        .requests({ method: 'POST', path: `/api/v10/channels/${channelId}/messages` })
        .filter((r) => r.status === 200),
    ).toHaveLength(1);

    const link = new URL(api.app.ticketPages.transcript.url(org.orgId, ticketId));
    const page = await api.call(null, { method: 'GET', url: link.pathname });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('settings.json');

    // The staff action is in the ticket's history with the file it carried.
    const history = await db.admin.query<{ data: { attachments?: Array<{ id: string }> } }>(
      `select data from ticket_events where ticket_id = $1 and type = 'message.created' order by id desc limit 1`,
      [ticketId],
    );
    expect(history.rows[0]?.data.attachments?.map((a) => a.id)).toEqual([fileId]);
  });

  it("names in the Discord post a file past Discord's upload limit instead of failing the post", async () => {
    const { ticketId, channelId } = await discordTicket('Big dump');
    const small = (await upload(owner, org.orgId, ticketId, 'small.json')).json<{ id: string }>().id;
    // Recorded as 12 MiB (its size decides; the bytes are never read for a file left out).
    const big = await withTenant(db.app, org.orgId, (tx) =>
      recordAttachment(
        tx,
        {
          ticketId,
          filename: 'crashdump.zip',
          contentType: 'application/zip',
          sizeBytes: 12 * 1024 * 1024,
          storageKey: `orgs/${org.orgId}/attachments/not-read`,
          origin: 'panel',
        },
        org.owner,
      ),
    );
    const sent = await sendReply(owner, org.orgId, ticketId, {
      body: 'Both files.',
      attachmentIds: [small, big.id],
    });
    expect(sent.statusCode).toBe(201);
    await deliverMessage(env.deps, {
      orgId: org.orgId,
      messageId: sent.json<{ message: { id: string } }>().message.id,
    });
    const [post] = fake
      .requests({ method: 'POST', path: `/api/v10/channels/${channelId}/messages` })
      .filter((r) => r.status === 200);
    const posted = post?.response as { content: string; attachments: Array<{ filename: string }> };
    expect(posted.attachments.map((a) => a.filename)).toEqual(['small.json']);
    expect(posted.content).toContain('Too large to post on Discord: crashdump.zip');
  });

  it('is refused when it is not a file of this ticket waiting to be sent, and nothing is written', async () => {
    const a = await discordTicket('First');
    const b = await discordTicket('Second');
    const fileOfA = (await upload(owner, org.orgId, a.ticketId)).json<{ id: string }>().id;
    const other = await sendReply(owner, org.orgId, b.ticketId, {
      body: 'Wrong file',
      attachmentIds: [fileOfA],
    });
    expect(other.statusCode).toBe(422);
    expect(other.body).toContain('attachmentIds');
    const messages = async (ticketId: string) =>
      (await db.admin.query('select 1 from messages where ticket_id = $1', [ticketId])).rowCount;
    expect(await messages(b.ticketId)).toBe(0);
    // Sent once, a file can't go again with a second reply.
    expect(
      (await sendReply(owner, org.orgId, a.ticketId, { body: 'Once', attachmentIds: [fileOfA] })).statusCode,
    ).toBe(201);
    expect(
      (await sendReply(owner, org.orgId, a.ticketId, { body: 'Twice', attachmentIds: [fileOfA] })).statusCode,
    ).toBe(422);
    // Another organization's file is not found here either.
    const stranger = await makeOrg(db.app, 'Elsewhere');
    const strangerCall = await api.sessionFor(stranger.ownerId);
    const theirTicket = await withTenant(
      db.app,
      stranger.orgId,
      async (tx) => (await openTicket(tx, { subject: 'Theirs', origin: 'api' }, SYSTEM)).ticket.id,
    );
    const theirFile = (await upload(strangerCall, stranger.orgId, theirTicket)).json<{ id: string }>().id;
    expect(
      (await sendReply(owner, org.orgId, a.ticketId, { body: 'Theirs', attachmentIds: [theirFile] }))
        .statusCode,
    ).toBe(422);
    expect(
      (
        await sendReply(owner, org.orgId, a.ticketId, {
          body: 'Too many',
          attachmentIds: Array.from({ length: 11 }, () => fileOfA),
        })
      ).statusCode,
    ).toBe(422);
  });

  it('is mailed as an attachment of the email reply on an email ticket', async () => {
    const mailOrg = await emailOrg(db.app);
    const mailOwner = await api.sessionFor(mailOrg.ownerId);
    const envelope: Envelope = { mailFrom: 'ana@players.example', rcptTo: [mailOrg.address], via: 'smtp' };
    const opened = await intakeEmail(
      { pool: db.app, storage: env.deps.storage as LocalStorage, logger: quietLogger() },
      mailOrg.orgId,
      plainMail({ to: mailOrg.address, subject: 'My settings', body: 'Can you send the defaults?' }),
      envelope,
    );
    const ticketId = opened.ticketId as string;
    const fileId = (await upload(mailOwner, mailOrg.orgId, ticketId, 'defaults.json')).json<{ id: string }>()
      .id;
    const sent = await sendReply(mailOwner, mailOrg.orgId, ticketId, {
      body: 'The defaults are attached.',
      attachmentIds: [fileId],
    });
    expect(sent.statusCode).toBe(201);
    const mails: Array<{ text: string; attachments?: Array<{ filename: string; content: Buffer }> }> = [];
    const mailer = {
      sendMail: async (m: (typeof mails)[number]) => {
        mails.push(m);
        return {};
      },
      close() {},
    };
    const wdeps = { ...env.deps, logger: quietLogger(), mailer } as Parameters<typeof sendEmailReply>[0];
    const messageId = sent.json<{ message: { id: string } }>().message.id;
    expect(await sendEmailReply(wdeps, { orgId: mailOrg.orgId, messageId })).toBe('sent');
    expect(mails).toHaveLength(1);
    expect(mails[0]?.attachments?.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['defaults.json', '{"fov":90}'],
    ]);
  });
});
