import { createHash, timingSafeEqual } from 'node:crypto';
import type { FakeContext, RestReply, RestRequest, Route } from './context.js';
import { randomToken } from './snowflake.js';

interface Grant {
  userId: string;
  scopes: string[];
  redirectUri: string;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  expiresAt: number;
  used: boolean;
  /** Access tokens issued from this code, revoked if the code is replayed (RFC 6749 §4.1.2). */
  issued: string[];
}

interface TokenGrant {
  userId: string;
  scopes: string[];
  expiresAt: number;
  refreshToken: string;
}

const CODE_TTL_MS = 10 * 60 * 1000;
const TOKEN_TTL_S = 604_800;

function oauthError(status: number, error: string, description?: string): RestReply {
  return { status, body: description ? { error, error_description: description } : { error } };
}

function redirect(location: string): RestReply {
  return { status: 302, headers: { Location: location } };
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Discord's OAuth2 authorization-code flow with PKCE, as the API's login uses it. */
export class OAuth2 {
  private readonly codes = new Map<string, Grant>();
  private readonly tokens = new Map<string, TokenGrant>();
  private readonly refreshTokens = new Map<string, string>();
  private nextUser: string | null = null;
  private denyNext = false;
  /** Refresh grants served, oldest first (tests count them). */
  readonly refreshes: Array<{ userId: string; refreshToken: string }> = [];
  /** Codes handed out, newest last (tests read them instead of following redirects). */
  readonly issuedCodes: string[] = [];

  constructor(private readonly fake: FakeContext) {}

  /** The user who "clicks Authorize" on the next authorization request. */
  authorizeAs(userId: string): void {
    this.nextUser = userId;
  }

  /** The next authorization request is refused by the user (`error=access_denied`). */
  denyNextAuthorization(): void {
    this.denyNext = true;
  }

  /** The grant behind a bearer token, or null if unknown, revoked or expired. */
  lookup(accessToken: string): { userId: string; scopes: string[] } | null {
    const t = this.tokens.get(accessToken);
    if (!t || t.expiresAt < Date.now()) return null;
    return { userId: t.userId, scopes: t.scopes };
  }

  private authorizingUser(): string {
    if (this.nextUser && this.fake.state.users.has(this.nextUser)) return this.nextUser;
    const first = [...this.fake.state.users.values()].find((u) => !u.bot);
    return first ? first.id : this.fake.state.addUser({ username: 'player' }).id;
  }

  private redirectAllowed(uri: string): boolean {
    const registered = this.fake.options.redirectUris;
    if (registered.length > 0) return registered.includes(uri);
    return /^https?:\/\//.test(uri);
  }

  authorize(req: RestRequest): RestReply {
    const q = req.query;
    if (q.get('client_id') !== this.fake.state.applicationId)
      return oauthError(400, 'invalid_client', 'Unknown client_id');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!this.redirectAllowed(redirectUri))
      return oauthError(400, 'invalid_request', 'Invalid "redirect_uri" in request.');
    const back = (params: Record<string, string>): RestReply => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const state = q.get('state');
      if (state !== null) url.searchParams.set('state', state);
      return redirect(url.toString());
    };
    if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
    const scopes = (q.get('scope') ?? '').split(/[\s+]+/).filter(Boolean);
    if (scopes.length === 0)
      return back({ error: 'invalid_scope', error_description: 'The requested scope is invalid.' });
    const challenge = q.get('code_challenge');
    const method = q.get('code_challenge_method');
    if (challenge && method !== 'S256' && method !== 'plain') {
      return back({ error: 'invalid_request', error_description: 'Invalid code_challenge_method' });
    }
    if (this.denyNext) {
      this.denyNext = false;
      return back({
        error: 'access_denied',
        error_description: 'The resource owner or authorization server denied the request',
      });
    }
    const code = randomToken(24);
    this.codes.set(code, {
      userId: this.authorizingUser(),
      scopes,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: challenge ? (method ?? 'plain') : null,
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
      issued: [],
    });
    this.issuedCodes.push(code);
    return back({ code });
  }

  token(req: RestRequest): RestReply {
    const ct = String(req.headers['content-type'] ?? '');
    if (!ct.startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    const body = (req.body ?? {}) as Record<string, string>;
    let clientId = body['client_id'];
    let clientSecret = body['client_secret'];
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      clientId = id;
      clientSecret = secret;
    }
    if (clientId !== this.fake.state.applicationId || clientSecret !== this.fake.state.clientSecret) {
      return oauthError(401, 'invalid_client');
    }
    if (body['grant_type'] === 'authorization_code') return this.exchangeCode(body);
    if (body['grant_type'] === 'refresh_token') return this.refresh(body);
    return oauthError(400, 'unsupported_grant_type');
  }

  private exchangeCode(body: Record<string, string>): RestReply {
    const code = body['code'] ?? '';
    const grant = this.codes.get(code);
    if (!grant || grant.expiresAt < Date.now())
      return oauthError(400, 'invalid_grant', 'Invalid "code" in request.');
    if (grant.used) {
      for (const t of grant.issued) this.revoke(t);
      return oauthError(400, 'invalid_grant', 'Invalid "code" in request.');
    }
    // A failed attempt burns the code too: codes are single-use whatever happens.
    grant.used = true;
    if (body['redirect_uri'] !== grant.redirectUri) {
      return oauthError(400, 'invalid_grant', 'Invalid "redirect_uri" in request.');
    }
    if (grant.codeChallenge) {
      const verifier = body['code_verifier'];
      if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) {
        return oauthError(400, 'invalid_grant', 'Invalid "code_verifier" in request.');
      }
      const expected = grant.codeChallengeMethod === 'S256' ? s256(verifier) : verifier;
      if (!safeEqual(expected, grant.codeChallenge)) {
        return oauthError(400, 'invalid_grant', 'Invalid "code_verifier" in request.');
      }
    }
    const reply = this.issue(grant.userId, grant.scopes);
    grant.issued.push(String((reply.body as Record<string, unknown>)['access_token']));
    return reply;
  }

  /**
   * The refresh grant as Discord runs it: the refresh token is required, used once (the answer
   * carries a new one, and the old pair stops working), and refused once the person has removed
   * the app. An access token's expiry does not end its refresh token.
   */
  private refresh(body: Record<string, string>): RestReply {
    const old = body['refresh_token'];
    if (!old) return oauthError(400, 'invalid_request', 'Missing "refresh_token" in request.');
    const access = this.refreshTokens.get(old);
    const t = access ? this.tokens.get(access) : undefined;
    if (!access || !t) return oauthError(400, 'invalid_grant', 'Invalid "refresh_token" in request.');
    this.revoke(access);
    this.refreshes.push({ userId: t.userId, refreshToken: old });
    return this.issue(t.userId, t.scopes);
  }

  /** The person removes the app (User Settings → Authorized Apps): every token of theirs dies. */
  deauthorize(userId: string): void {
    for (const [access, t] of this.tokens) if (t.userId === userId) this.revoke(access);
  }

  private issue(userId: string, scopes: string[]): RestReply {
    const accessToken = randomToken(30);
    const refreshToken = randomToken(30);
    this.tokens.set(accessToken, {
      userId,
      scopes,
      expiresAt: Date.now() + TOKEN_TTL_S * 1000,
      refreshToken,
    });
    this.refreshTokens.set(refreshToken, accessToken);
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        access_token: accessToken,
        expires_in: TOKEN_TTL_S,
        refresh_token: refreshToken,
        scope: scopes.join(' '),
      },
    };
  }

  revoke(token: string): void {
    const access = this.refreshTokens.get(token) ?? token;
    const t = this.tokens.get(access);
    if (t) this.refreshTokens.delete(t.refreshToken);
    this.tokens.delete(access);
  }

  routes(): Route[] {
    return [
      { method: 'GET', template: '/oauth2/authorize', auth: 'none', handler: (req) => this.authorize(req) },
      { method: 'POST', template: '/oauth2/token', auth: 'none', handler: (req) => this.token(req) },
      {
        method: 'POST',
        template: '/oauth2/token/revoke',
        auth: 'none',
        handler: (req) => {
          const body = (req.body ?? {}) as Record<string, string>;
          if (body['token']) this.revoke(body['token']);
          return { status: 200, body: {} };
        },
      },
    ];
  }
}
