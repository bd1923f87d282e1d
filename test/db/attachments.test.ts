import { describe, expect, it } from 'vitest';
import {
  ALLOWED_CONTENT_TYPES,
  attachmentTooLarge,
  checkUpload,
  getAttachment,
  listAttachments,
  MAX_ATTACHMENT_BYTES,
  recordAttachment,
} from '../../db/attachments.js';
import * as inbox from '../../db/messages.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();
const SHA = 'a'.repeat(64);

async function ticketWithReply(orgId: string, actor: Parameters<typeof tickets.openTicket>[2]) {
  return withTenant(db.app, orgId, async (tx) => {
    const { ticket } = await tickets.openTicket(tx, { subject: 'Crash on start', origin: 'panel' }, actor);
    const { message } = await tickets.reply(
      tx,
      { ticketId: ticket.id, body: 'log attached', origin: 'panel' },
      actor,
    );
    return { ticket, message };
  });
}

describe('checkUpload', () => {
  it('accepts the allowed types (parameters and case aside) within the size limit', () => {
    expect(checkUpload({ contentType: 'Text/Plain; charset=utf-8', size: 10 })).toBe('text/plain');
    expect(checkUpload({ contentType: 'image/png', size: MAX_ATTACHMENT_BYTES })).toBe('image/png');
    expect(checkUpload({ contentType: 'application/zip' })).toBe('application/zip');
    expect(ALLOWED_CONTENT_TYPES).not.toContain('image/svg+xml');
  });

  it('answers 415 for a type off the list and 413 past the limit, with clear messages', () => {
    for (const contentType of ['text/html', 'image/svg+xml', 'application/octet-stream', '', undefined]) {
      let err: unknown;
      try {
        checkUpload({ contentType, size: 1 });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'unsupported_media_type', status: 415 });
      expect((err as Error).message).toMatch(/is not accepted; allowed: image\/png/);
    }
    expect(() => checkUpload({ contentType: 'image/png', size: MAX_ATTACHMENT_BYTES + 1 })).toThrow(
      expect.objectContaining({
        code: 'payload_too_large',
        status: 413,
        message: 'files are limited to 25 MiB',
      }),
    );
    expect(() => checkUpload({ contentType: 'image/png', size: 101, maxBytes: 100 })).toThrow(
      expect.objectContaining({ status: 413, message: 'files are limited to 100 bytes' }),
    );
    expect(attachmentTooLarge()).toMatchObject({ status: 413, details: { limit: MAX_ATTACHMENT_BYTES } });
  });
});

describe('attachments', () => {
  it('records files on a ticket and on its messages, with history, audit and an event', async () => {
    const org = await makeOrg(db.app);
    const { ticket, message } = await ticketWithReply(org.orgId, org.owner);
    const result = await withTenant(db.app, org.orgId, async (tx) => {
      const onTicket = await recordAttachment(
        tx,
        {
          ticketId: ticket.id,
          filename: 'screen\u0000shot/../../x.png',
          contentType: 'image/png',
          sizeBytes: 1234,
          sha256: SHA,
          storageKey: `${org.orgId}/a1`,
          origin: 'panel',
        },
        org.owner,
      );
      const onMessage = await recordAttachment(
        tx,
        {
          messageId: message.id,
          filename: 'log.txt',
          contentType: 'text/plain',
          sizeBytes: 10,
          externalUrl: 'https://cdn.discordapp.com/attachments/1/2/log.txt',
          origin: 'discord',
        },
        org.owner,
      );
      return {
        onTicket,
        onMessage,
        byTicket: await listAttachments(tx, { ticketId: ticket.id }),
        byMessage: await listAttachments(tx, { messageId: message.id }),
        one: await getAttachment(tx, onTicket.id),
      };
    });
    expect(result.onTicket).toMatchObject({
      ticketId: ticket.id,
      messageId: null,
      filename: 'screenshot....x.png',
      sizeBytes: 1234,
      sha256: SHA,
      disposition: 'attachment',
    });
    // The message's ticket is filled in, so the ticket's list shows both.
    expect(result.onMessage).toMatchObject({ ticketId: ticket.id, messageId: message.id, storageKey: null });
    expect(result.byTicket.map((a) => a.id)).toEqual([result.onTicket.id, result.onMessage.id]);
    expect(result.byMessage.map((a) => a.id)).toEqual([result.onMessage.id]);
    expect(result.one).toEqual(result.onTicket);

    const events = await db.admin.query<{ type: string }>(
      "select type from ticket_events where ticket_id = $1 and type = 'attachment.added'",
      [ticket.id],
    );
    expect(events.rowCount).toBe(2);
    const outbox = await db.admin.query<{ payload: { filename: string } }>(
      "select payload from outbox where aggregate_id = $1 and event_type = 'ticket.attachment_added' order by id",
      [ticket.id],
    );
    expect(outbox.rows.map((r) => r.payload.filename)).toEqual(['screenshot....x.png', 'log.txt']);
  });

  it('attaches to a direct-message channel message that has no ticket', async () => {
    const org = await makeOrg(db.app);
    const a = await withTenant(db.app, org.orgId, async (tx) => {
      const player = await upsertPlayer(tx, { displayName: 'P', discordUserId: '323456789012345678' });
      const dm = await inbox.openChannel(tx, { kind: 'player_dm', playerId: player.id }, org.owner);
      const { message } = await inbox.postMessage(
        tx,
        { channelId: dm.id, body: 'see pic', origin: 'game' },
        {
          type: 'player',
          id: player.id,
        },
      );
      return recordAttachment(
        tx,
        {
          messageId: message.id,
          filename: 'pic.webp',
          contentType: 'image/webp',
          sizeBytes: 5,
          storageKey: 'k/1',
          disposition: 'inline',
          origin: 'game',
        },
        { type: 'player', id: player.id },
      );
    });
    expect(a).toMatchObject({ ticketId: null, disposition: 'inline' });
  });

  it('refuses incomplete or inconsistent records', async () => {
    const org = await makeOrg(db.app);
    const { ticket, message } = await ticketWithReply(org.orgId, org.owner);
    const other = await ticketWithReply(org.orgId, org.owner);
    const base = {
      filename: 'f.txt',
      contentType: 'text/plain',
      sizeBytes: 1,
      storageKey: 'k',
      origin: 'api' as const,
    };
    const attempts: Array<[Record<string, unknown>, string]> = [
      [{ ...base }, 'validation_failed'],
      [{ ...base, ticketId: ticket.id, storageKey: undefined }, 'validation_failed'],
      [{ ...base, ticketId: ticket.id, sizeBytes: -1 }, 'validation_failed'],
      [{ ...base, ticketId: ticket.id, sha256: 'ABC' }, 'validation_failed'],
      [{ ...base, ticketId: ticket.id, filename: '\u0000/' }, 'validation_failed'],
      [{ ...base, ticketId: ticket.id, externalUrl: 'javascript:alert(1)' }, 'validation_failed'],
      [{ ...base, ticketId: other.ticket.id, messageId: message.id }, 'validation_failed'],
      [{ ...base, ticketId: '00000000-0000-4000-8000-000000000000' }, 'not_found'],
      [{ ...base, messageId: '00000000-0000-4000-8000-000000000000' }, 'not_found'],
    ];
    for (const [input, code] of attempts) {
      await expect(
        withTenant(db.app, org.orgId, (tx) => recordAttachment(tx, input as never, org.owner)),
      ).rejects.toMatchObject({ code });
    }
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        listAttachments(tx, { ticketId: ticket.id, messageId: message.id }),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it("never reads or attaches to another organization's tickets and files", async () => {
    const a = await makeOrg(db.app, 'Alpha');
    const b = await makeOrg(db.app, 'Beta');
    const alpha = await ticketWithReply(a.orgId, a.owner);
    const file = await withTenant(db.app, a.orgId, (tx) =>
      recordAttachment(
        tx,
        {
          ticketId: alpha.ticket.id,
          filename: 'a.png',
          contentType: 'image/png',
          sizeBytes: 1,
          storageKey: 'a',
          origin: 'panel',
        },
        a.owner,
      ),
    );
    await expect(withTenant(db.app, b.orgId, (tx) => getAttachment(tx, file.id))).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(
      await withTenant(db.app, b.orgId, (tx) => listAttachments(tx, { ticketId: alpha.ticket.id })),
    ).toEqual([]);
    for (const target of [{ ticketId: alpha.ticket.id }, { messageId: alpha.message.id }]) {
      await expect(
        withTenant(db.app, b.orgId, (tx) =>
          recordAttachment(
            tx,
            {
              ...target,
              filename: 'x.png',
              contentType: 'image/png',
              sizeBytes: 1,
              storageKey: 'b',
              origin: 'api',
            },
            b.owner,
          ),
        ),
      ).rejects.toMatchObject({ code: 'not_found' });
    }
    const count = await db.admin.query('select 1 from attachments where org_id = $1', [b.orgId]);
    expect(count.rowCount).toBe(0);
  });
});
