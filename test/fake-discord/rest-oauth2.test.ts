import { createHash, randomBytes } from 'node:crypto';
import { type DiscordAPIError, REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChannelType,
  type FakeDiscord,
  type SeededGuild,
  startFakeDiscord,
} from '../support/fake-discord/index.js';

const REDIRECT = 'http://127.0.0.1:9/auth/callback';

let fake: FakeDiscord;
let guild: SeededGuild;
let userId: string;
let rest: REST;

beforeAll(async () => {
  fake = await startFakeDiscord({ redirectUris: [REDIRECT] });
  userId = fake.addUser({ username: 'moderator', email: 'mod@example.com' }).id;
  guild = fake.addGuild({
    name: 'Gamma',
    members: [userId],
    channels: [
      { name: 'Tickets', type: ChannelType.GuildCategory },
      { name: 'forum', type: ChannelType.GuildForum },
      { name: 'general' },
    ],
  });
  rest = new REST({ api: `${fake.url}/api`, retries: 0 }).setToken(fake.botToken);
});

afterAll(async () => {
  await fake.close();
});

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function authorize(challenge: string, state = 'st4te'): Promise<URL> {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: fake.applicationId,
    redirect_uri: REDIRECT,
    scope: 'identify guilds',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const res = await fetch(`${fake.url}/api/oauth2/authorize?${q}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

function exchange(code: string, verifier: string) {
  return fetch(`${fake.url}/api/v10/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: fake.applicationId,
      client_secret: fake.clientSecret,
    }),
  });
}

describe('OAuth2 with PKCE', () => {
  it('exchanges a code for a token that reads the user and their guilds', async () => {
    const { verifier, challenge } = pkce();
    fake.oauth2.authorizeAs(userId);
    const back = await authorize(challenge);
    expect(back.searchParams.get('state')).toBe('st4te');
    const code = back.searchParams.get('code') ?? '';
    const res = await exchange(code, verifier);
    expect(res.status).toBe(200);
    const token = (await res.json()) as { access_token: string; token_type: string; scope: string };
    expect(token.token_type).toBe('Bearer');
    expect(token.scope).toBe('identify guilds');
    const me = await fetch(`${fake.url}/api/v10/users/@me`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(((await me.json()) as { id: string }).id).toBe(userId);
    const guilds = await fetch(`${fake.url}/api/v10/users/@me/guilds`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(((await guilds.json()) as { id: string }[]).map((g) => g.id)).toEqual([guild.id]);
    const bad = await fetch(`${fake.url}/api/v10/users/@me`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
  });

  it('rotates a refresh token once, refuses it spent, missing or after the app is removed', async () => {
    const refresh = (token?: string) =>
      fetch(`${fake.url}/api/v10/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          ...(token === undefined ? {} : { refresh_token: token }),
          client_id: fake.applicationId,
          client_secret: fake.clientSecret,
        }),
      });
    const { verifier, challenge } = pkce();
    fake.oauth2.authorizeAs(userId);
    const first = (await (
      await exchange((await authorize(challenge)).searchParams.get('code') ?? '', verifier)
    ).json()) as {
      access_token: string;
      refresh_token: string;
    };
    const next = await refresh(first.refresh_token);
    expect(next.status).toBe(200);
    const second = (await next.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope).toBe('identify guilds');
    expect(fake.oauth2.lookup(first.access_token)).toBeNull();
    expect(((await (await refresh(first.refresh_token)).json()) as { error: string }).error).toBe(
      'invalid_grant',
    );
    expect(((await (await refresh()).json()) as { error: string }).error).toBe('invalid_request');
    fake.oauth2.deauthorize(userId);
    expect(fake.oauth2.lookup(second.access_token)).toBeNull();
    expect(((await (await refresh(second.refresh_token)).json()) as { error: string }).error).toBe(
      'invalid_grant',
    );
  });

  it("reads a person's own member object only with guilds.members.read", async () => {
    const token = async (scope: string) => {
      const { verifier, challenge } = pkce();
      fake.oauth2.authorizeAs(userId);
      const q = new URLSearchParams({
        response_type: 'code',
        client_id: fake.applicationId,
        redirect_uri: REDIRECT,
        scope,
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const back = new URL(
        (await fetch(`${fake.url}/api/oauth2/authorize?${q}`, { redirect: 'manual' })).headers.get(
          'location',
        ) ?? '',
      );
      return (
        (await (await exchange(back.searchParams.get('code') ?? '', verifier)).json()) as {
          access_token: string;
        }
      ).access_token;
    };
    const member = (t: string, g = guild.id) =>
      fetch(`${fake.url}/api/v10/users/@me/guilds/${g}/member`, {
        headers: { authorization: `Bearer ${t}` },
      });
    const reader = await token('identify guilds.members.read');
    const res = await member(reader);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { id: string }; roles: string[] }).user.id).toBe(userId);
    expect((await member(await token('identify'))).status).toBe(401);
    expect((await member(reader, '123456789012345678')).status).toBe(404);
    const asBot = await fetch(`${fake.url}/api/v10/users/@me/guilds/${guild.id}/member`, {
      headers: { authorization: `Bot ${fake.botToken}` },
    });
    expect(asBot.status).toBe(401);
  });

  it('refuses a wrong verifier and a replayed code', async () => {
    const first = pkce();
    const code1 = (await authorize(first.challenge)).searchParams.get('code') ?? '';
    const wrong = await exchange(code1, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });

    const second = pkce();
    const code2 = (await authorize(second.challenge)).searchParams.get('code') ?? '';
    expect((await exchange(code2, second.verifier)).status).toBe(200);
    const replay = await exchange(code2, second.verifier);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('REST rules', () => {
  it('requires the bot token and answers unknown ids with Discord codes', async () => {
    const anon = await fetch(`${fake.url}/api/v10/channels/${guild.channels['general']}`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('content-type')).toBe('application/json');
    expect(await anon.json()).toEqual({ code: 0, message: '401: Unauthorized' });
    const err = await rest.get(Routes.channel('1234567890123456789')).catch((e: unknown) => e);
    expect((err as DiscordAPIError).code).toBe(10003);
    const msg = await rest
      .get(Routes.channelMessage(guild.channels['general'] ?? '', '1234567890123456789'))
      .catch((e: unknown) => e);
    expect((msg as DiscordAPIError).code).toBe(10008);
  });

  it('enforces 50 channels per category', async () => {
    const parent = guild.channels['Tickets'] ?? '';
    for (let i = 0; i < 50; i++) {
      await rest.post(Routes.guildChannels(guild.id), { body: { name: `ticket-${i}`, parent_id: parent } });
    }
    const err = await rest
      .post(Routes.guildChannels(guild.id), { body: { name: 'ticket-50', parent_id: parent } })
      .catch((e: unknown) => e);
    expect((err as DiscordAPIError).code).toBe(50035);
    expect((err as DiscordAPIError).rawError).toMatchObject({
      errors: { parent_id: { _errors: [{ code: 'CHANNEL_PARENT_MAX_CHANNELS' }] } },
    });
  });

  it('creates a forum post from multipart with payload_json', async () => {
    const forum = guild.channels['forum'] ?? '';
    const post = (await rest.post(Routes.threads(forum), {
      body: { name: 'Crash on start', message: { content: 'Log attached' } },
      files: [{ name: 'log.txt', data: Buffer.from('stack trace') }],
    })) as {
      id: string;
      type: number;
      parent_id: string;
      message: { id: string; attachments: { filename: string }[] };
    };
    expect(post.type).toBe(11);
    expect(post.parent_id).toBe(forum);
    expect(post.message.id).toBe(post.id);
    expect(post.message.attachments[0]?.filename).toBe('log.txt');
    const req = await fake.waitForRequest({ method: 'POST', path: `/channels/${forum}/threads` });
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data/);
  });

  it('executes a webhook with a username and tags the message', async () => {
    const hook = (await rest.post(Routes.channelWebhooks(guild.channels['general'] ?? ''), {
      body: { name: 'GameMod relay' },
    })) as { id: string; token: string };
    const msg = (await rest.post(Routes.webhook(hook.id, hook.token), {
      body: { content: 'From the panel', username: 'Agent Kim' },
      query: new URLSearchParams({ wait: 'true' }),
      auth: false,
    })) as { webhook_id: string; author: { username: string } };
    expect(msg.webhook_id).toBe(hook.id);
    expect(msg.author.username).toBe('Agent Kim');
  });

  it('validates command registration', async () => {
    const ok = (await rest.put(Routes.applicationCommands(fake.applicationId), {
      body: [
        {
          name: 'ticket',
          description: 'Open a ticket',
          options: [{ type: 3, name: 'subject', description: 'What' }],
        },
      ],
    })) as { id: string; name: string }[];
    expect(ok[0]?.name).toBe('ticket');
    const err = await rest
      .put(Routes.applicationCommands(fake.applicationId), { body: [{ name: 'Bad Name', description: '' }] })
      .catch((e: unknown) => e);
    expect((err as DiscordAPIError).code).toBe(50035);
    expect((err as DiscordAPIError).rawError).toMatchObject({
      errors: { '0': { name: { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME' }] } } },
    });
  });
});
