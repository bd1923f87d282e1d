import { rmSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { startWorkers } from '../../workers/index.js';
import { useTestDb } from '../support/db.js';
import { emailOrg, mid, plainMail, tempStorage } from './support.js';

/**
 * The workers role as `npm start` runs it: with SMTP_PORT unset outside production it listens
 * on a free loopback port, says where, and takes mail there.
 */
const db = useTestDb();
const { dir } = tempStorage();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the workers role', () => {
  it('starts the SMTP intake on a free loopback port, logs it, and takes mail there', async () => {
    const org = await emailOrg(db.app, 'Rolestudio');
    const lines: string[] = [];
    const logger = createLogger('info', {}, { write: (l: string) => lines.push(l) });
    const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, SEED_DEMO: 'false' });
    expect(config.email.smtpPort).toBe(0);
    const role = await startWorkers(config, {
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger,
      secretKey: randomSecretKey(),
    });
    try {
      const said = lines
        .map((l) => JSON.parse(l).msg as string)
        .find((m) => m.startsWith('SMTP intake listening'));
      const port = Number(said?.match(/^SMTP intake listening on 127\.0\.0\.1:(\d+)$/)?.[1]);
      expect(port).toBeGreaterThan(0);
      const messageId = mid();
      await nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true }).sendMail({
        envelope: { from: 'ana@players.example', to: [org.address] },
        raw: plainMail({ to: org.address, subject: 'Hello', body: 'Through the role.', messageId }),
      });
      const r = await db.admin.query(
        "select status from email_messages where direction = 'in' and message_id = $1",
        [messageId],
      );
      expect(r.rows).toEqual([{ status: 'new_ticket' }]);
    } finally {
      await role.stop();
    }
    // Production without SMTP_PORT runs no listener.
    expect(
      loadConfig({ NODE_ENV: 'production', SECRET_KEY: randomSecretKey() }).email.smtpPort,
    ).toBeUndefined();
  });
});
