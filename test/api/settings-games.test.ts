import { describe, expect, it } from 'vitest';
import { resolveGameKey } from '../../db/games.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';
import type { Caller } from './support.js';

const { db, api, w } = useSettingsApi('Games');

const url = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/games${path}`;

async function addGame(who: Caller, slug: string, orgId = w.a.orgId) {
  const res = await api.call(who, {
    method: 'POST',
    url: url('', orgId),
    payload: { name: `Game ${slug}`, slug },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string; slug: string };
}

describe('game routes', () => {
  it('adds, reads, renames and deletes a game, auditing each change', async () => {
    const g = await addGame(w.owner, 'Star-Forge');
    expect(g.slug).toBe('star-forge');
    const listed = await api.call(w.agent, { method: 'GET', url: url() });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().games.map((x: { id: string }) => x.id)).toContain(g.id);
    expect((await api.call(w.agent, { method: 'GET', url: url(`/${g.id}`) })).json().name).toBe(
      'Game Star-Forge',
    );

    const renamed = await api.call(w.owner, {
      method: 'PATCH',
      url: url(`/${g.id}`),
      payload: { name: 'Starforge' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Starforge', slug: 'star-forge' });

    expectError(
      await api.call(w.owner, { method: 'POST', url: url(), payload: { name: 'Dup', slug: 'star-forge' } }),
      409,
      'conflict',
    );

    expect((await api.call(w.owner, { method: 'DELETE', url: url(`/${g.id}`) })).json()).toEqual({
      ok: true,
    });
    expectError(await api.call(w.owner, { method: 'GET', url: url(`/${g.id}`) }), 404);
    expect(await auditActions(db.admin, w.a.orgId, g.id)).toEqual([
      'game.created',
      'game.updated',
      'game.deleted',
    ]);
  });

  it('creates a key shown once that resolves to the game, lists keys without secrets, revokes a key', async () => {
    const g = await addGame(w.owner, 'keys-game');
    const made = await api.call(w.owner, {
      method: 'POST',
      url: url(`/${g.id}/keys`),
      payload: { name: 'Steam build', scopes: ['tickets:create'] },
    });
    expect(made.statusCode, made.body).toBe(201);
    const { key, plaintext } = made.json() as {
      key: { id: string; prefix: string; scopes: string[] };
      plaintext: string;
    };
    expect(key.scopes).toEqual(['tickets:create']);
    expect(plaintext.startsWith(key.prefix)).toBe(true);
    expect((await resolveGameKey(db.app, plaintext))?.gameId).toBe(g.id);

    const listed = await api.call(w.owner, { method: 'GET', url: url(`/${g.id}/keys`) });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(plaintext);
    expect(listed.json().keys.map((k: { id: string }) => k.id)).toEqual([key.id]);

    // A key id under another game of the same org is not found there.
    const other = await addGame(w.owner, 'other-game');
    expectError(await api.call(w.owner, { method: 'DELETE', url: url(`/${other.id}/keys/${key.id}`) }), 404);

    const revoked = await api.call(w.owner, { method: 'DELETE', url: url(`/${g.id}/keys/${key.id}`) });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    expect(await resolveGameKey(db.app, plaintext)).toBeNull();
    expect(await auditActions(db.admin, w.a.orgId, g.id)).toEqual([
      'game.created',
      'game_key.created',
      'game_key.revoked',
    ]);
  });

  it('lets agents read games but not change them; a games:manage token may, a tickets token may not', async () => {
    const g = await addGame(w.owner, 'perm-game');
    expectError(
      await api.call(w.agent, { method: 'POST', url: url(), payload: { name: 'No', slug: 'no' } }),
      403,
      'forbidden',
    );
    expectError(
      await api.call(w.agent, { method: 'PATCH', url: url(`/${g.id}`), payload: { name: 'No' } }),
      403,
    );
    expectError(await api.call(w.agent, { method: 'GET', url: url(`/${g.id}/keys`) }), 403);
    expectError(
      await api.call(w.agent, { method: 'POST', url: url(`/${g.id}/keys`), payload: { name: 'k' } }),
      403,
    );

    const gamesToken = await api.tokenFor(db.app, w.a.orgId, ['games:manage']);
    const viaToken = await api.call(gamesToken, {
      method: 'POST',
      url: url(),
      payload: { name: 'Tok', slug: 'tok' },
    });
    expect(viaToken.statusCode, viaToken.body).toBe(201);
    const ticketsToken = await api.tokenFor(db.app, w.a.orgId, ['tickets:write']);
    expectError(await api.call(ticketsToken, { method: 'DELETE', url: url(`/${g.id}`) }), 403, 'forbidden');
    expect((await db.admin.query('select 1 from games where id = $1', [g.id])).rowCount).toBe(1);
  });

  it('replays a game creation sent again with the same Idempotency-Key', async () => {
    const send = (name: string) =>
      api.call(w.owner, {
        method: 'POST',
        url: url(),
        payload: { name, slug: 'idem-game' },
        headers: { 'idempotency-key': 'create-idem-game' },
      });
    const first = await send('Idem');
    const again = await send('Idem');
    expect(first.statusCode, first.body).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    expectError(await send('Other body'), 422);
    const rows = await db.admin.query("select 1 from games where org_id = $1 and slug = 'idem-game'", [
      w.a.orgId,
    ]);
    expect(rows.rowCount).toBe(1);
  });

  it("answers 404 for another org's games and keys, changing nothing", async () => {
    const theirs = await addGame(w.ownerB, 'their-game', w.b.orgId);
    const key = await api.call(w.ownerB, {
      method: 'POST',
      url: url(`/${theirs.id}/keys`, w.b.orgId),
      payload: { name: 'B key' },
    });
    const keyId = key.json().key.id as string;
    const mine = await addGame(w.owner, 'my-game');

    expectError(await api.call(w.owner, { method: 'GET', url: url(`/${theirs.id}`) }), 404, 'not_found');
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: url(`/${theirs.id}`), payload: { name: 'Mine' } }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: url(`/${theirs.id}`) }), 404);
    expectError(await api.call(w.owner, { method: 'GET', url: url(`/${theirs.id}/keys`) }), 404);
    expectError(
      await api.call(w.owner, { method: 'POST', url: url(`/${theirs.id}/keys`), payload: { name: 'x' } }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: url(`/${theirs.id}/keys/${keyId}`) }), 404);
    expectError(await api.call(w.owner, { method: 'DELETE', url: url(`/${mine.id}/keys/${keyId}`) }), 404);

    const row = await db.admin.query('select name from games where id = $1', [theirs.id]);
    expect(row.rows[0].name).toBe('Game their-game');
    const k = await db.admin.query('select revoked_at from game_keys where id = $1', [keyId]);
    expect(k.rows[0].revoked_at).toBeNull();
    expect(await auditActions(db.admin, w.a.orgId, theirs.id)).toEqual([]);
  });

  it('refuses bad input with the error shape', async () => {
    const g = await addGame(w.owner, 'input-game');
    await expectBadBodiesRefused(api, w.owner, 'POST', url());
    await expectBadBodiesRefused(api, w.owner, 'PATCH', url(`/${g.id}`));
    await expectBadBodiesRefused(api, w.owner, 'POST', url(`/${g.id}/keys`));
    expectError(
      await api.call(w.owner, { method: 'POST', url: url(), payload: { name: 'x', slug: 'Not a slug!' } }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'PATCH', url: url(`/${g.id}`), payload: {} }), 422);
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: url(`/${g.id}/keys`),
        payload: { name: 'k', scopes: ['admin'] },
      }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'GET', url: url('/123') }), 422);
  });
});
