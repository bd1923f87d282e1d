import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { z } from 'zod';
import {
  confirmTotp,
  disableTotp,
  getTotp,
  replaceRecoveryCodes,
  startTotpEnrolment,
  useRecoveryCode,
  useTotpStep,
} from '../../db/totp.js';
import { auditUserEvent } from '../../db/user-audit.js';
import { getUser } from '../../db/users.js';
import { AppError } from '../../lib/errors.js';
import { redisScript } from '../../lib/redis.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { sessionTimes, setSessionCookie } from '../plugins/auth.js';
import { downgradeVerifiedSessions, rotateSession, type Session } from '../sessions.js';
import { sessionOf, userActor } from './helpers.js';
import { errorResponses, okSchema } from './schemas.js';

const RECOVERY_CODES = 10;
/** Wrong codes allowed per user in a window before further tries are refused. */
const MAX_FAILURES = 5;
const FAILURE_WINDOW_SECONDS = 15 * 60;
const code = z.string().regex(/^\d{6}$/, 'a 6-digit code from the authenticator app');
/** INCR + EXPIRE NX: the try count and the start of its window, atomically. */
const countAttempt = redisScript<number>(
  'gmTotpAttempt',
  `local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`,
);
/** Where the wrong-code count of a person lives (an operator's TOTP reset clears it too). */
export const totpFailuresKey = (userId: string) => `gm:totp-fail:${userId}`;
const recoveryCode = z.string().min(6).max(40);
const codeOrRecovery = z.union([z.object({ code }), z.object({ recoveryCode })]);
const newRecoveryCodes = () => Array.from({ length: RECOVERY_CODES }, () => randomBytes(5).toString('hex'));
const recoveryHash = (c: string) => createHash('sha256').update(c.trim().toLowerCase()).digest('hex');

/**
 * TOTP for staff: enrol (secret shown as an otpauth URI and QR code), confirm with a first code
 * (which turns it on and hands out recovery codes once), verify at sign-in, turn off. Codes are
 * single-use (the accepted time step is stored) and guesses are limited per user.
 */
export const totpRoutes: FastifyPluginAsyncZod = async (app) => {
  const box = createSecretBox(app.settings.secretKey);
  const failuresKey = totpFailuresKey;

  /**
   * Counts a try BEFORE its code is checked, in one Redis step: reading the count, checking and
   * only then counting a wrong code let guesses sent at once all pass the read (40 were checked).
   * The window starts at the first try and is not extended by later ones; a right code clears it.
   */
  async function attempt(userId: string) {
    const n = await countAttempt(app.deps.redis, [failuresKey(userId)], [FAILURE_WINDOW_SECONDS]);
    if (n > MAX_FAILURES) {
      throw new AppError(
        'rate_limited',
        'too many wrong codes: wait 15 minutes or use a recovery code later',
        {
          details: { retryAfterSeconds: FAILURE_WINDOW_SECONDS },
        },
      );
    }
  }
  function failed(): never {
    throw new AppError('unauthenticated', 'that code is wrong, expired or already used', {
      details: { reason: 'bad_code' },
    });
  }
  async function succeeded(userId: string) {
    await app.deps.redis.del(failuresKey(userId));
  }
  /** Privilege change: a new session id, now counted as having passed the second factor. */
  async function passedSecondFactor(session: Session, reply: FastifyReply) {
    const { token } = await rotateSession(
      app.deps.redis,
      session,
      { mfa: 'verified' },
      sessionTimes(app.settings),
    );
    setSessionCookie(app, reply, token);
  }
  /** The accepted time step of a right code, or null. One step back is tolerated for clock drift. */
  async function check(secret: string, token: string): Promise<number | null> {
    const r = await verify({
      secret,
      token,
      epoch: Math.floor(app.settings.now() / 1000),
      epochTolerance: [30, 0],
    });
    // TOTP results carry the matched time step (what makes a code single-use).
    return r.valid ? ((r as { timeStep?: number }).timeStep ?? null) : null;
  }

  /** Uses up a right code's time step, or a recovery code; false for anything else. */
  async function spend(userId: string, sealed: string, body: z.infer<typeof codeOrRecovery>) {
    if ('recoveryCode' in body)
      return useRecoveryCode(app.deps.pool, userId, recoveryHash(body.recoveryCode));
    const step = await check(box.open(sealed), body.code);
    return step !== null && (await useTotpStep(app.deps.pool, userId, step));
  }

  app.post(
    '/auth/totp/enrol',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'startTotpEnrolment',
        summary: 'Start TOTP enrolment: returns the otpauth URI and a QR code to scan',
        response: {
          200: z.object({ otpauthUri: z.string(), qrSvg: z.string(), secret: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { userId } = sessionOf(req);
      const secret = generateSecret();
      if (!(await startTotpEnrolment(app.deps.pool, userId, box.seal(secret)))) {
        throw new AppError('conflict', 'two-factor sign-in is already on; turn it off first to enrol again');
      }
      const user = await getUser(app.deps.pool, userId);
      const otpauthUri = generateURI({ issuer: 'GameMod', label: user.displayName, secret });
      return { otpauthUri, qrSvg: await QRCode.toString(otpauthUri, { type: 'svg' }), secret };
    },
  );

  app.post(
    '/auth/totp/confirm',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'confirmTotpEnrolment',
        summary: 'Confirm enrolment with a first code; returns recovery codes (shown once)',
        body: z.object({ code }),
        response: { 200: z.object({ recoveryCodes: z.array(z.string()) }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const auth = sessionOf(req);
      const state = await getTotp(app.deps.pool, auth.userId);
      if (!state || state.enabled)
        throw new AppError('conflict', 'start an enrolment first (POST /auth/totp/enrol)');
      await attempt(auth.userId);
      const step = await check(box.open(state.secretCiphertext), req.body.code);
      if (step === null) return failed();
      await succeeded(auth.userId);
      const recoveryCodes = newRecoveryCodes();
      if (!(await confirmTotp(app.deps.pool, auth.userId, step, recoveryCodes.map(recoveryHash)))) {
        throw new AppError('conflict', 'this enrolment was already confirmed');
      }
      await auditUserEvent(app.deps.pool, userActor(req, auth.userId), 'user.totp_enabled');
      await passedSecondFactor(auth.session, reply);
      return { recoveryCodes };
    },
  );

  app.post(
    '/auth/totp/verify',
    {
      config: { access: 'session', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'verifyTotp',
        summary: 'Second sign-in step: a code from the app, or one of the recovery codes',
        body: codeOrRecovery,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const auth = sessionOf(req);
      const state = await getTotp(app.deps.pool, auth.userId);
      if (!state?.enabled) throw new AppError('conflict', 'two-factor sign-in is not on for this account');
      await attempt(auth.userId);
      if (!(await spend(auth.userId, state.secretCiphertext, req.body))) return failed();
      await succeeded(auth.userId);
      await passedSecondFactor(auth.session, reply);
      return { ok: true as const };
    },
  );

  app.delete(
    '/auth/totp',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'disableTotp',
        summary: 'Turn two-factor sign-in off (needs a current code or a recovery code)',
        description:
          'A recovery code works too, for a person who lost their authenticator (they can enrol again afterwards). Every session of the person stops counting as having passed TOTP: organizations that require it refuse them until they enrol again.',
        body: codeOrRecovery,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const auth = sessionOf(req);
      const state = await getTotp(app.deps.pool, auth.userId);
      if (!state?.enabled) throw new AppError('conflict', 'two-factor sign-in is not on for this account');
      await attempt(auth.userId);
      if (!(await spend(auth.userId, state.secretCiphertext, req.body))) return failed();
      await succeeded(auth.userId);
      await disableTotp(app.deps.pool, auth.userId);
      // Passing TOTP earlier no longer speaks for this person: their sessions (this one included)
      // lose `verified`, so an org that requires TOTP refuses them until they enrol again.
      await downgradeVerifiedSessions(app.deps.redis, auth.userId);
      await auditUserEvent(app.deps.pool, userActor(req, auth.userId), 'user.totp_disabled');
      return { ok: true as const };
    },
  );

  app.post(
    '/auth/totp/recovery-codes',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'replaceTotpRecoveryCodes',
        summary: 'New recovery codes (shown once); every earlier one stops working. Needs a current code',
        body: z.object({ code }),
        response: { 200: z.object({ recoveryCodes: z.array(z.string()) }), ...errorResponses },
      },
    },
    async (req) => {
      const auth = sessionOf(req);
      const state = await getTotp(app.deps.pool, auth.userId);
      if (!state?.enabled) throw new AppError('conflict', 'two-factor sign-in is not on for this account');
      await attempt(auth.userId);
      if (!(await spend(auth.userId, state.secretCiphertext, req.body))) return failed();
      await succeeded(auth.userId);
      const recoveryCodes = newRecoveryCodes();
      if (!(await replaceRecoveryCodes(app.deps.pool, auth.userId, recoveryCodes.map(recoveryHash)))) {
        throw new AppError('conflict', 'two-factor sign-in was turned off meanwhile');
      }
      await auditUserEvent(app.deps.pool, userActor(req, auth.userId), 'user.totp_recovery_codes_replaced');
      return { recoveryCodes };
    },
  );
};
