import { z } from 'zod';
import { AppError } from '../lib/errors.js';

/**
 * Discord's OAuth2 authorization-code flow with PKCE, as the panel's login uses it. The base URL
 * is the configured Discord API URL (`https://discord.com/api`, or the fake Discord in tests);
 * every answer from Discord is parsed before use.
 */
export interface DiscordOAuthClient {
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/**
 * What a sign-in is for, and so what Discord is asked for. The panel's: `guilds.members.read` lets
 * role sync read the person's roles in the org's servers later, with the refresh token kept from
 * this sign-in (api/discord-user-tokens.ts). A player rating a ticket only proves which Discord
 * account they are (`identify`), and is asked for nothing more.
 */
export const LOGIN_SCOPES = {
  panel: 'identify guilds.members.read',
  rating: 'identify',
} as const;
export type LoginPurpose = keyof typeof LOGIN_SCOPES;

export function authorizeUrl(
  c: DiscordOAuthClient,
  state: string,
  challenge: string,
  purpose: LoginPurpose = 'panel',
): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: c.clientId,
    scope: LOGIN_SCOPES[purpose],
    redirect_uri: c.redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    prompt: 'none',
  });
  return `${c.apiUrl}/oauth2/authorize?${q}`;
}

const tokenResponse = z.object({
  access_token: z.string().min(1).max(500),
  token_type: z.string(),
  refresh_token: z.string().min(1).max(500).optional(),
  expires_in: z.number().int().positive().optional(),
  scope: z.string().max(500).optional(),
});

/** What Discord's token endpoint gives: the refresh token rotates on every refresh. */
export interface DiscordGrant {
  accessToken: string;
  refreshToken: string | null;
  expiresInSeconds: number;
  scopes: string[];
}

const grantOf = (t: z.infer<typeof tokenResponse>): DiscordGrant => ({
  accessToken: t.access_token,
  refreshToken: t.refresh_token ?? null,
  // Discord says 604800 (a week); without it, assume little and refresh early.
  expiresInSeconds: t.expires_in ?? 3600,
  scopes: (t.scope ?? '').split(' ').filter(Boolean),
});
const oauthError = z.object({ error: z.string(), error_description: z.string().optional() });

export const discordUserSchema = z.object({
  id: z.string().regex(/^\d{17,20}$/),
  username: z.string().min(1).max(64),
  global_name: z.string().max(64).nullish(),
  avatar: z.string().max(100).nullish(),
  email: z.string().nullish(),
});
export type DiscordUser = z.infer<typeof discordUserSchema>;

async function discordJson(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('unavailable', `Discord answered the ${what} request with ${res.status} and no JSON`);
  }
}

/** Trades the code (and the PKCE verifier) for tokens. A refused code is a 400. */
export async function exchangeCode(
  c: DiscordOAuthClient,
  code: string,
  verifier: string,
): Promise<DiscordGrant> {
  const res = await fetch(`${c.apiUrl}/v10/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: c.redirectUri,
      code_verifier: verifier,
      client_id: c.clientId,
      client_secret: c.clientSecret,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await discordJson(res, 'token');
  if (res.status >= 400 && res.status < 500) {
    const err = oauthError.safeParse(body);
    throw new AppError(
      'bad_request',
      `Discord refused the sign-in: ${err.success ? err.data.error : res.status}`,
      {
        details: { reason: err.success ? err.data.error : 'refused' },
      },
    );
  }
  const ok = tokenResponse.safeParse(body);
  if (!res.ok || !ok.success)
    throw new AppError('unavailable', `Discord token endpoint failed (${res.status})`);
  return grantOf(ok.data);
}

/** Discord unreachable (refused, reset, timed out) is an outage: 503, try again later. */
const reach = (url: string, init: RequestInit) =>
  fetch(url, init).catch((cause: unknown) => {
    throw new AppError('unavailable', 'Discord could not be reached', { cause });
  });

/**
 * Trades a refresh token for new tokens (Discord rotates the refresh token). `refused` when
 * Discord will not (the person removed the app, or the token is spent): the caller drops it.
 * Anything else (Discord down, a 5xx) is `unavailable`, and the stored token is kept.
 */
export async function refreshGrant(
  c: Omit<DiscordOAuthClient, 'redirectUri'>,
  refreshToken: string,
): Promise<DiscordGrant | 'refused'> {
  const res = await reach(`${c.apiUrl}/v10/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: c.clientId,
      client_secret: c.clientSecret,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await discordJson(res, 'token refresh');
  if (res.status === 400 || res.status === 401) {
    const err = oauthError.safeParse(body);
    if (err.success && err.data.error === 'invalid_grant') return 'refused';
  }
  const ok = tokenResponse.safeParse(body);
  if (!res.ok || !ok.success)
    throw new AppError('unavailable', `Discord token refresh failed (${res.status})`);
  return grantOf(ok.data);
}

/**
 * Discord's answers that say the person is not in the server: Unknown Member (10007), and, on the
 * person's own member endpoint, Unknown Guild (10004), since a server they are not in is one
 * their token cannot see. Both come as a 404 with the code in a JSON body.
 */
const NOT_A_MEMBER = new Set([10004, 10007]);
const apiError = z.object({ code: z.number().int() });

/**
 * The person's roles in one server, read with their own token (`guilds.members.read`):
 * `not_member` when Discord answers that they are not in it (they left, or were kicked or
 * banned), null when it tells nothing about them (the token no longer works: 401; no access: 403;
 * any other 404). Discord down, a 5xx or a 429 is `unavailable`: nothing is learnt either way.
 */
export async function fetchMemberRoles(
  apiUrl: string,
  accessToken: string,
  guildId: string,
): Promise<string[] | 'not_member' | null> {
  const res = await reach(`${apiUrl}/v10/users/@me/guilds/${encodeURIComponent(guildId)}/member`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 404) {
    const err = apiError.safeParse(await res.json().catch(() => null));
    return err.success && NOT_A_MEMBER.has(err.data.code) ? 'not_member' : null;
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    return null;
  }
  const parsed = z
    .object({ roles: z.array(z.string().regex(/^\d{17,20}$/)) })
    .safeParse(await discordJson(res, 'member'));
  if (!res.ok || !parsed.success)
    throw new AppError('unavailable', `Discord member endpoint failed (${res.status})`);
  return parsed.data.roles;
}

export async function fetchDiscordUser(c: DiscordOAuthClient, accessToken: string): Promise<DiscordUser> {
  const res = await fetch(`${c.apiUrl}/v10/users/@me`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  const parsed = discordUserSchema.safeParse(await discordJson(res, 'user'));
  if (!res.ok || !parsed.success)
    throw new AppError('unavailable', `Discord user endpoint failed (${res.status})`);
  return parsed.data;
}
