import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../lib/storage/index.js';
import { intakeEmail } from '../../workers/email-intake.js';
import { emailOrg, mid, plainMail, quietLogger, tempStorage } from '../email/support.js';
import { useTestDb } from '../support/db.js';

const db = useTestDb();
const { dir, storage } = tempStorage();
let org: Awaited<ReturnType<typeof emailOrg>>;
beforeAll(async () => {
  org = await emailOrg(db.app);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const deps = () => ({ pool: db.app, storage, logger: quietLogger() });
const env = { mailFrom: 'jo@players.example', rcptTo: [] as string[], via: 'smtp' as const };

function withFile(subject: string, messageId: string, inReplyTo: string) {
  const b = 'bnd123';
  return Buffer.from(
    [
      'From: Jo <jo@players.example>',
      `To: ${org.address}`,
      `Subject: ${subject}`,
      `Message-ID: <${messageId}>`,
      `In-Reply-To: <${inReplyTo}>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'here is the log',
      `--${b}`,
      'Content-Type: text/plain; name="log.txt"',
      'Content-Disposition: attachment; filename="log.txt"',
      '',
      'ERROR 42',
      `--${b}--`,
      '',
    ].join('\r\n'),
  );
}

/**
 * An MTA may hand the same reply over twice at once (a retry racing a slow 250): one delivery
 * records it, the other is a duplicate that writes nothing, attachments included. Five rounds,
 * since which delivery waits on the other varies.
 */
describe('duplicate delivery of a reply', () => {
  it('the same reply delivered twice at once records its file once', async () => {
    const first = mid();
    const opened = await intakeEmail(
      deps(),
      org.orgId,
      plainMail({
        from: 'Jo <jo@players.example>',
        to: org.address,
        subject: 'Bug',
        body: 'bug',
        messageId: first,
      }),
      { ...env, rcptTo: [org.address] },
    );
    const dupes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const raw = withFile(`Re: Bug [#${opened.ticketNumber}]`, mid(), first);
      const results = await Promise.all(
        [0, 1].map(() => intakeEmail(deps(), org.orgId, raw, { ...env, rcptTo: [org.address] })),
      );
      const r = await db.admin.query<{ n: number; msgs: number; logged: number }>(
        `select (select count(*)::int from attachments a join messages m on m.id = a.message_id
                  where m.org_id = $1 and m.external_id = $2) as n,
                (select count(*)::int from messages m where m.org_id = $1 and m.external_id = $2) as msgs,
                (select count(*)::int from email_messages e where e.org_id = $1 and e.message_id = $2) as logged`,
        [org.orgId, raw.toString().match(/Message-ID: <([^>]+)>/)![1]],
      );
      dupes.push(r.rows[0]!.n);
      expect(results.map((x) => x.status).sort()).toEqual(['duplicate', 'reply']);
      expect(r.rows[0]).toMatchObject({ msgs: 1, logged: 1 });
    }
    expect(dupes).toEqual([1, 1, 1, 1, 1]);
  });
});

/** The storage the intake writes to, keeping the key of every put and delete. */
function watched(inner: Storage) {
  const puts: string[] = [];
  const deletes: string[] = [];
  const storage: Storage = {
    driver: inner.driver,
    put: (key, body, opts) => {
      puts.push(key);
      return inner.put(key, body, opts);
    },
    get: (key) => inner.get(key),
    delete: (key) => {
      deletes.push(key);
      return inner.delete(key);
    },
    exists: (key) => inner.exists(key),
    presignGet: (key, opts) => inner.presignGet(key, opts),
  };
  return { storage, puts, deletes };
}

/**
 * A retry racing the first delivery of a mail with a file: the one that loses must not write
 * the objects the winner stored and its rows name (an object written again after the winner's
 * ticket was erased would bring the player's file back), and must leave nothing of its own.
 * A later redelivery, known before anything is stored, writes nothing at all.
 */
describe('duplicate delivery and storage', () => {
  it('the losing delivery writes no object the winner stored, and leaves none of its own', async () => {
    const w = watched(storage);
    const messageId = mid();
    const raw = withFile('Crash log', messageId, mid('nowhere.example'));
    const results = await Promise.all(
      [0, 1].map(() =>
        intakeEmail({ ...deps(), storage: w.storage }, org.orgId, raw, { ...env, rcptTo: [org.address] }),
      ),
    );
    expect(results.map((x) => x.status).sort()).toEqual(['duplicate', 'new_ticket']);
    const written = w.puts.filter((key, i) => w.puts.indexOf(key) !== i);
    expect(written, 'objects written by both deliveries').toEqual([]);
    const named = await db.admin.query<{ key: string }>(
      `select raw_storage_key as key from email_messages where org_id = $1 and message_id = $2
       union all
       select a.storage_key from attachments a join tickets t on t.id = a.ticket_id
        where t.org_id = $1 and t.external_id = $2`,
      [org.orgId, messageId],
    );
    const left = w.puts.filter((key) => !w.deletes.includes(key));
    expect(left.sort()).toEqual(named.rows.map((r) => r.key).sort());
    for (const key of left) expect(await storage.exists(key)).toBe(true);

    w.puts.length = 0;
    const again = await intakeEmail({ ...deps(), storage: w.storage }, org.orgId, raw, {
      ...env,
      rcptTo: [org.address],
    });
    expect(again.status).toBe('duplicate');
    expect(w.puts, 'objects written by a later redelivery').toEqual([]);
  });
});
