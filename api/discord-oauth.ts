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

export const LOGIN_SCOPES = 'identify';

export function authorizeUrl(c: DiscordOAuthClient, state: string, challenge: string): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: c.clientId,
    scope: LOGIN_SCOPES,
    redirect_uri: c.redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    prompt: 'none',
  });
  return `${c.apiUrl}/oauth2/authorize?${q}`;
}

const tokenResponse = z.object({ access_token: z.string().min(1), token_type: z.string() });
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

/** Trades the code (and the PKCE verifier) for an access token. A refused code is a 400. */
export async function exchangeCode(c: DiscordOAuthClient, code: string, verifier: string): Promise<string> {
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
  return ok.data.access_token;
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
