// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api, cachedList, describeError } from './api.js';
import { ConfirmButton } from './forms.js';
import { html } from './html.js';
import { ago, label } from './labels.js';

/**
 * @typedef {{ id: string, displayName: string | null, discordUserId: string | null, gameId: string | null,
 *   gameAccountId: string | null, email: string | null, createdAt: string }} Player
 * @typedef {{ tickets: { id: string, number: number, subject: string, status: string, createdAt: string }[],
 *   reportsMade: unknown[], reportsAgainst: { id: string, reason: string, status: string, createdAt: string }[],
 *   sessions: { id: string, gameId: string, startedAt: string, endedAt: string | null, platform: string | null }[] }} History
 * @typedef {{ gameId: string | null, gameAccountId: string }} GameAccount
 */

/**
 * The requester's card: linked identities (Discord, each game's account, email), past tickets
 * (links), and the game context (recent play sessions, reports). Loaded when the ticket has a
 * requester; a member without players.read sees why not. With players.manage, a game account
 * linked by mistake can be split off again (with the tickets opened from that game).
 * @param {{ orgId: string, playerId: string | null, ticketId: string, mayUnlink?: boolean }} props
 */
export function PlayerCard({ orgId, playerId, ticketId, mayUnlink = false }) {
  const [data, setData] = useState(
    /** @type {{ player: Player, gameAccounts?: GameAccount[], history: History } | null} */ (null),
  );
  const [games, setGames] = useState(/** @type {Record<string, string>} */ ({}));
  const [error, setError] = useState('');
  const [unlinking, setUnlinking] = useState(
    /** @type {{ busy: boolean, note: string, error: string }} */ ({
      busy: false,
      note: '',
      error: '',
    }),
  );
  const load = () =>
    api('GET', `/v1/orgs/${orgId}/players/${playerId}`).then(setData, (err) => setError(describeError(err)));

  useEffect(() => {
    setData(null);
    setError('');
    setUnlinking({ busy: false, note: '', error: '' });
    if (!playerId) return;
    load();
    cachedList(`/v1/orgs/${orgId}/games`).then(
      (r) =>
        setGames(
          Object.fromEntries(r.games.map((/** @type {{ id: string, name: string }} */ g) => [g.id, g.name])),
        ),
      () => setGames({}),
    );
  }, [orgId, playerId]);

  const game = (/** @type {string | null} */ id) => (id ? (games[id] ?? 'a game') : '');
  const unlink = (/** @type {GameAccount} */ a) => {
    if (!a.gameId) return;
    const name = game(a.gameId);
    setUnlinking({ busy: true, note: '', error: '' });
    api('POST', `/v1/orgs/${orgId}/players/${playerId}/unlink`, { gameId: a.gameId }).then(
      () => {
        setUnlinking({ busy: false, note: `The ${name} account is now a player of its own.`, error: '' });
        load();
      },
      (err) => setUnlinking({ busy: false, note: '', error: describeError(err) }),
    );
  };
  const body = () => {
    if (!playerId) return html`<p class="muted">No player is linked to this ticket.</p>`;
    if (error) return html`<p class="error" role="alert">The player could not be loaded: ${error}</p>`;
    if (!data) return html`<p role="status">Loading player…</p>`;
    const { player: p, history: h } = data;
    const past = h.tickets.filter((t) => t.id !== ticketId);
    const accounts =
      data.gameAccounts ?? (p.gameAccountId ? [{ gameId: p.gameId, gameAccountId: p.gameAccountId }] : []);
    // Splitting needs something left behind: another account, Discord or email.
    const splittable = mayUnlink && (accounts.length > 1 || Boolean(p.discordUserId || p.email));
    return html`<p class="player-name">${p.displayName ?? 'Unnamed player'}</p>
      <h3>Linked identities</h3>
      <dl class="identities">
        ${p.discordUserId ? html`<div><dt>Discord</dt><dd>${p.discordUserId}</dd></div>` : null}
        ${accounts.map(
          (a) =>
            html`<div><dt>${a.gameId ? `Account in ${game(a.gameId)}` : 'Game account'}</dt><dd>${a.gameAccountId}${
              splittable && a.gameId
                ? html` <${ConfirmButton} label="Unlink" disabled=${unlinking.busy}
                    name=${`Unlink ${game(a.gameId)} account ${a.gameAccountId}`}
                    confirm=${`Split it off with its ${game(a.gameId)} tickets`} onConfirm=${() => unlink(a)} />`
                : null
            }</dd></div>`,
        )}
        ${p.email ? html`<div><dt>Email</dt><dd>${p.email}</dd></div>` : null}
        ${!p.discordUserId && accounts.length === 0 && !p.email ? html`<div><dt>None</dt><dd>no identity linked</dd></div>` : null}
      </dl>
      ${unlinking.note ? html`<p role="status">${unlinking.note}</p>` : null}
      ${unlinking.error ? html`<p class="error" role="alert">The account could not be unlinked: ${unlinking.error}</p>` : null}
      <h3>Past tickets (${past.length})</h3>
      ${
        past.length
          ? html`<ul class="past">
              ${past
                .slice(0, 10)
                .map(
                  (t) =>
                    html`<li><a href=${`/o/${orgId}/t/${t.id}`}>#${t.number} ${t.subject}</a> <span class="muted">${label(t.status)} · ${ago(t.createdAt)}</span></li>`,
                )}
            </ul>`
          : html`<p class="muted">None before this one.</p>`
      }
      <h3>Game context</h3>
      ${
        h.sessions.length
          ? html`<ul class="sessions">
              ${h.sessions
                .slice(0, 5)
                .map(
                  (s) =>
                    html`<li>${game(s.gameId)}${s.platform ? ` on ${s.platform}` : ''} · ${s.endedAt ? `played ${ago(s.startedAt)}` : 'playing now'}</li>`,
                )}
            </ul>`
          : html`<p class="muted">No play sessions recorded.</p>`
      }
      <p class="muted">Reports against this player: ${h.reportsAgainst.length}; made by them: ${h.reportsMade.length}.</p>`;
  };

  return html`<details class="player card" open>
    <summary><h2 id="player-title">Player</h2></summary>
    <div>${body()}</div>
  </details>`;
}
