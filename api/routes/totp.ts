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
const recoveryHash = (c: string) => createHash('sha256').update(c.trim().toLowerCase()).digest('hex');

/**
 * TOTP for staff: enrol (secret shown as an otpauth URI and QR code), confirm with a first code
 * (which turns it on and hands out recovery codes once), verify at sign-in, turn off. Codes are
 * single-use (the accepted time step is stored) and guesses are limited per user.
 */
export const totpRoutes: FastifyPluginAsyncZod = async (app) => {
  const box = createSecretBox(app.settings.secretKey);
  const failuresKey = (userId: string) => `gm:totp-fail:${userId}`;

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
      const recoveryCodes = Array.from({ length: RECOVERY_CODES }, () => randomBytes(5).toString('hex'));
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
        body: z.union([z.object({ code }), z.object({ recoveryCode: z.string().min(6).max(40) })]),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const auth = sessionOf(req);
      const state = await getTotp(app.deps.pool, auth.userId);
      if (!state?.enabled) throw new AppError('conflict', 'two-factor sign-in is not on for this account');
      await attempt(auth.userId);
      let ok: boolean;
      if ('code' in req.body) {
        const step = await check(box.open(state.secretCiphertext), req.body.code);
        ok = step !== null && (await useTotpStep(app.deps.pool, auth.userId, step));
      } else {
        ok = await useRecoveryCode(app.deps.pool, auth.userId, recoveryHash(req.body.recoveryCode));
      }
      if (!ok) return failed();
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
        summary: 'Turn two-factor sign-in off (needs a current code)',
        description:
          'Every session of the person stops counting as having passed TOTP: organizations that require it refuse them until they enrol again.',
        body: z.object({ code }),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const auth = sessionOf(req);
      const state = await getTotp(app.deps.pool, auth.userId);
      if (!state?.enabled) throw new AppError('conflict', 'two-factor sign-in is not on for this account');
      await attempt(auth.userId);
      const step = await check(box.open(state.secretCiphertext), req.body.code);
      if (step === null || !(await useTotpStep(app.deps.pool, auth.userId, step))) return failed();
      await succeeded(auth.userId);
      await disableTotp(app.deps.pool, auth.userId);
      // Passing TOTP earlier no longer speaks for this person: their sessions (this one included)
      // lose `verified`, so an org that requires TOTP refuses them until they enrol again.
      await downgradeVerifiedSessions(app.deps.redis, auth.userId);
      await auditUserEvent(app.deps.pool, userActor(req, auth.userId), 'user.totp_disabled');
      return { ok: true as const };
    },
  );
};
