import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
