// @ts-check
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, cachedList, describeError, setCsrfToken } from './api.js';
import { html } from './html.js';
import { Inbox } from './inbox.js';
import { prefetchInbox } from './inbox-query.js';
import { live } from './live.js';
import { NotificationBell } from './notifications.js';
import { PresenceChooser } from './presence.js';
import { inviteCode, navigate, onLinkClick, PENDING_INVITE, useLocation } from './router.js';
import { SignIn, TotpStep } from './signin.js';
import { TicketView } from './ticket.js';

/**
 * @typedef {{ id: string, name: string, role: string }} Org
 * @typedef {{ user: { id: string, displayName: string, avatarUrl: string | null }, csrfToken: string, mfa: 'none' | 'pending' | 'verified', orgs: Org[] }} Session
 * @typedef {import('./signin.js').PanelConfig} PanelConfig
 */

/** @type {PanelConfig} */
const config = JSON.parse(document.getElementById('gm-config')?.textContent ?? '{}');

const ORG_KEY = 'gm.org';

/** @param {Session} session */
function defaultOrg(session) {
  const saved = localStorage.getItem(ORG_KEY);
  return session.orgs.find((o) => o.id === saved) ?? session.orgs[0] ?? null;
}

/**
 * This browser's Web Push subscription, or null (none, no service worker, push unsupported).
 * `getRegistration`, not `ready`: `ready` never settles where no worker was registered.
 */
async function pushSubscription() {
  if (!('serviceWorker' in navigator)) return null;
  try {
    const reg = await navigator.serviceWorker.getRegistration();
    return (await reg?.pushManager?.getSubscription()) ?? null;
  } catch {
    return null;
  }
}

/** @param {{ session: Session, org: Org | null, lostOrg: Org | null, onSignedOut: (reason: string) => void }} props */
function Header({ session, org, lostOrg, onSignedOut }) {
  const [error, setError] = useState('');
  const [connected, setConnected] = useState(live.connected);
  const [ended, setEnded] = useState(false);
  useEffect(
    () =>
      live.listen((m) => {
        if (m.kind === 'status') setConnected(m.connected);
        else if (m.kind === 'ended') setEnded(true);
      }),
    [],
  );
  const analytics = useRoleHolds(org, ['analytics.read']);
  const worksTickets = useRoleHolds(org, ['tickets.read', 'tickets.reply']);
  const dot = connected
    ? 'Live updates on'
    : ended
      ? 'Live updates off: signed out'
      : !org
        ? 'Live updates off'
        : 'Live updates reconnecting';
  /** @param {'/auth/logout' | '/auth/logout-everywhere'} path */
  const signOut = async (path) => {
    setError('');
    try {
      // Push ends with the sign-in. The API removes the devices this session subscribed (all of
      // them for everywhere) and the endpoint named here (one subscribed in an earlier session);
      // then the browser drops the subscription itself, so nothing more is shown here even if a
      // send was already on its way. A browser that cannot be reached is still covered by the API.
      const sub = await pushSubscription();
      await api('POST', path, path === '/auth/logout' && sub ? { pushEndpoint: sub.endpoint } : undefined);
      await sub?.unsubscribe().catch(() => false);
      live.close();
      onSignedOut(path === '/auth/logout' ? 'You are signed out.' : 'You are signed out on every device.');
    } catch (err) {
      setError(describeError(err));
    }
  };
  return html`<header class="top">
    <a class="brand" href=${org ? `/o/${org.id}` : '/'}>GameMod</a>
    ${
      session.orgs.length > 1
        ? html`<label class="org-switch"
            ><span class="visually-hidden">Organization</span>
            <select
              value=${org?.id}
              onChange=${(/** @type {any} */ e) => {
                localStorage.setItem(ORG_KEY, e.currentTarget.value);
                navigate(`/o/${e.currentTarget.value}`);
              }}
            >
              ${session.orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
            </select></label
          >`
        : html`<span class="org-name">${org?.name ?? ''}</span>`
    }
    <span class=${`live-dot ${connected ? 'on' : ''}`} title=${dot}
      ><span class="visually-hidden">${dot}</span></span
    >
    <span class="spacer"></span>
    ${org ? html`<a class="button" href=${`/o/${org.id}/conversations`}>Conversations</a>` : null}
    ${org && analytics ? html`<a class="button" href=${`/o/${org.id}/analytics`}>Analytics</a>` : null}
    ${org ? html`<a class="button" href=${`/o/${org.id}/settings`}>Settings</a>` : null}
    ${org ? html`<${NotificationBell} key=${org.id} orgId=${org.id} userId=${session.user.id} />` : null}
    <span class="who">${session.user.displayName}</span>
    ${org && worksTickets ? html`<${PresenceChooser} key=${org.id} orgId=${org.id} userId=${session.user.id} />` : null}
    <button type="button" onClick=${() => signOut('/auth/logout')}>Sign out</button>
    <button type="button" class="subtle" onClick=${() => signOut('/auth/logout-everywhere')}>Sign out everywhere</button>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${
      ended
        ? html`<p class="error signed-out" role="alert">
            You were signed out, so this page no longer updates and changes will be refused.
            <a href=${location.pathname + location.search}>Sign in again</a>
          </p>`
        : null
    }
    ${
      lostOrg
        ? html`<p class="error access-ended" role="alert">
            Your access to ${lostOrg.name} ended, so its pages are closed here. Ask one of its admins
            if you think this is a mistake.
          </p>`
        : null
    }
  </header>`;
}

/**
 * Whether the member's role holds every one of `permissions`, from the roles list (asked after
 * the first render, kept 30 s): the header offers the dashboards only to those who can read them,
 * and the Online/Away choice only to those who work tickets (auto-assignment reads it). A role
 * that can't read the list gets neither; the pages themselves still answer with the API's verdict.
 * @param {Org | null} org
 * @param {string[]} permissions
 */
function useRoleHolds(org, permissions) {
  const [allowed, setAllowed] = useState(false);
  const wanted = permissions.join(' ');
  useEffect(() => {
    setAllowed(false);
    if (!org) return;
    cachedList(`/v1/orgs/${org.id}/roles`).then(
      (r) =>
        setAllowed(
          r.roles.some(
            (/** @type {{ key: string, permissions: string[] }} */ x) =>
              x.key === org.role && wanted.split(' ').every((p) => x.permissions.includes(p)),
          ),
        ),
      () => setAllowed(false),
    );
  }, [org?.id, org?.role, wanted]);
  return allowed;
}

/**
 * The analytics dashboards, loaded on first visit with uPlot: neither is on the inbox's first load.
 * @param {{ org: Org, search: string }} props
 */
function LazyAnalytics(props) {
  const [mod, setMod] = useState(/** @type {typeof import('./analytics.js') | null} */ (null));
  const [error, setError] = useState('');
  useEffect(() => {
    import('./analytics.js').then(setMod, (err) => setError(describeError(err)));
  }, []);
  if (error)
    return html`<main class="center" id="main"><p class="error" role="alert">Analytics could not be loaded: ${error}</p></main>`;
  if (!mod) return html`<main class="center" id="main"><p role="status">Loading analytics…</p></main>`;
  return html`<${mod.AnalyticsPage} ...${props} />`;
}

/**
 * The settings area, loaded on first visit: most sessions never open it, so its modules stay off
 * the inbox's first load.
 * @param {{ org: Org, me: Session['user'], section: string | undefined, mfa: string }} props
 */
function LazySettings(props) {
  const [mod, setMod] = useState(/** @type {typeof import('./settings.js') | null} */ (null));
  const [error, setError] = useState('');
  useEffect(() => {
    import('./settings.js').then(setMod, (err) => setError(describeError(err)));
  }, []);
  if (error)
    return html`<main class="center" id="main"><p class="error" role="alert">Settings could not be loaded: ${error}</p></main>`;
  if (!mod) return html`<main class="center" id="main"><p role="status">Loading settings…</p></main>`;
  return html`<${mod.Settings} ...${props} />`;
}

/**
 * Conversations (mirrored Discord channels, staff rooms, player DMs), loaded on first visit: the
 * inbox's first load does not carry it.
 * @param {{ org: Org, channelId: string | undefined }} props
 */
function LazyConversations(props) {
  const [mod, setMod] = useState(/** @type {typeof import('./conversations.js') | null} */ (null));
  const [error, setError] = useState('');
  useEffect(() => {
    import('./conversations.js').then(setMod, (err) => setError(describeError(err)));
  }, []);
  if (error)
    return html`<main class="center" id="main"><p class="error" role="alert">Conversations could not be loaded: ${error}</p></main>`;
  if (!mod) return html`<main class="center" id="main"><p role="status">Loading conversations…</p></main>`;
  return html`<${mod.ConversationsPage} ...${props} />`;
}

/**
 * The invite page, loaded when an invite link is opened (rare, so off the inbox's first load).
 * @param {{ code: string, onJoined: (orgId: string) => void }} props
 */
function LazyInvite(props) {
  const [mod, setMod] = useState(/** @type {typeof import('./invite.js') | null} */ (null));
  const [error, setError] = useState('');
  useEffect(() => {
    import('./invite.js').then(setMod, (err) => setError(describeError(err)));
  }, []);
  if (error)
    return html`<main class="center" id="main"><p class="error" role="alert">The invitation could not be loaded: ${error}</p></main>`;
  if (!mod) return html`<main class="center" id="main"><p role="status">Loading…</p></main>`;
  return html`<${mod.InvitePage} ...${props} />`;
}

function App() {
  /** @type {[Session | null, (s: Session | null) => void]} */
  const [loaded, setSession] = useState(/** @type {Session | null} */ (null));
  const [state, setState] = useState(
    /** @type {'loading' | 'signed-out' | 'totp' | 'ready' | 'error'} */ ('loading'),
  );
  const [message, setMessage] = useState('');
  const loc = useLocation();
  // The organization on screen, and the one whose access ended while it was (live.js's 4003):
  // that one is left out of the org list for the rest of this page's life (a member demoted to
  // a role that cannot read tickets is still listed by the session).
  const shown = useRef(/** @type {Org | null} */ (null));
  const [lostOrg, setLostOrg] = useState(/** @type {Org | null} */ (null));
  const session =
    loaded && lostOrg ? { ...loaded, orgs: loaded.orgs.filter((o) => o.id !== lostOrg.id) } : loaded;

  const load = useCallback(async () => {
    try {
      const early = earlySession;
      earlySession = null;
      /** @type {Session} */
      const s = await (early ?? api('GET', '/auth/session'));
      setCsrfToken(s.csrfToken);
      setSession(s);
      setState(s.mfa === 'pending' ? 'totp' : 'ready');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setState('signed-out');
      else {
        setMessage(describeError(err));
        setState('error');
      }
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);
  useEffect(
    () =>
      live.listen((m) => {
        if (m.kind !== 'access-ended') return;
        const gone = shown.current;
        setLostOrg(gone);
        if (gone && localStorage.getItem(ORG_KEY) === gone.id) localStorage.removeItem(ORG_KEY);
        // The session asked again (signed out altogether shows the sign-in), then `/`: another
        // organization's inbox if one is left, else the no-organization page.
        load().then(() => navigate('/', { replace: true }));
      }),
    [load],
  );

  if (state === 'loading') return html`<main class="center" id="main"><p role="status">Loading…</p></main>`;
  if (state === 'error')
    return html`<main class="center" id="main">
      <p class="error" role="alert">The panel could not start: ${message}</p>
      <button onClick=${load}>Try again</button>
    </main>`;
  const invite = inviteCode(loc.path);
  if (state === 'signed-out' || !session) {
    // Discord's sign-in comes back to this path by itself (returnTo); the demo sign-in lands on
    // `/`, where the kept path sends the member back to the invitation.
    if (invite) sessionStorage.setItem(PENDING_INVITE, loc.path);
    return html`<${SignIn}
      config=${config}
      reason=${message || (invite ? 'Sign in to accept your invitation.' : '')}
    />`;
  }
  if (state === 'totp') return html`<${TotpStep} onDone=${load} />`;
  const pending = sessionStorage.getItem(PENDING_INVITE);
  if (pending) {
    sessionStorage.removeItem(PENDING_INVITE);
    if (!invite && loc.path === '/' && inviteCode(pending)) {
      queueMicrotask(() => navigate(pending, { replace: true }));
      return html`<main class="center" id="main"><p role="status">Loading…</p></main>`;
    }
  }
  if (invite) {
    // Joined: the session is asked again (its org list now has the new org), then its inbox.
    const joined = async (/** @type {string} */ orgId) => {
      localStorage.setItem(ORG_KEY, orgId);
      await load();
      navigate(`/o/${orgId}`, { replace: true });
    };
    return html`<div class="shell" onClick=${onLinkClick}>
      <a class="skip" href="#main">Skip to content</a>
      <${Header} session=${session} org=${defaultOrg(session)} lostOrg=${lostOrg} onSignedOut=${() => location.assign('/')} />
      <${LazyInvite} code=${invite} onJoined=${joined} />
    </div>`;
  }

  const m = loc.path.match(
    /^\/o\/([0-9a-f-]{36})(?:\/t\/([0-9a-f-]{36})|\/(settings)(?:\/([a-z-]+))?|\/(analytics)|\/(conversations)(?:\/([0-9a-f-]{36}))?)?\/?$/,
  );
  const org = m ? (session.orgs.find((o) => o.id === m[1]) ?? null) : defaultOrg(session);
  if (!m && loc.path === '/' && org) {
    queueMicrotask(() => navigate(`/o/${org.id}${loc.search}`, { replace: true }));
  }
  if (org) localStorage.setItem(ORG_KEY, org.id);
  shown.current = org;
  const signedOut = (/** @type {string} */ reason) => {
    setSession(null);
    setMessage(reason);
    setState('signed-out');
    navigate('/', { replace: true });
  };

  let page;
  if (!session.orgs.length)
    page = html`<main class="center" id="main">
      <h1>No organization yet</h1>
      <p>You are signed in as ${session.user.displayName}, but no studio has added you. Ask an admin for an invite.</p>
    </main>`;
  else if (!org || (!m && loc.path !== '/'))
    page = html`<main class="center" id="main">
      <h1>Page not found</h1>
      <p>There is nothing at ${loc.path}. <a href=${`/o/${defaultOrg(session)?.id}`}>Go to the inbox</a>.</p>
    </main>`;
  else if (m?.[3])
    page = html`<${LazySettings} key=${org.id} org=${org} me=${session.user} section=${m[4]} mfa=${session.mfa} />`;
  else if (m?.[6]) page = html`<${LazyConversations} key=${org.id} org=${org} channelId=${m[7]} />`;
  else if (m?.[5]) page = html`<${LazyAnalytics} key=${org.id} org=${org} search=${loc.search} />`;
  else if (m?.[2]) page = html`<${TicketView} key=${m[2]} org=${org} ticketId=${m[2]} me=${session.user} />`;
  else page = html`<${Inbox} key=${org.id} org=${org} me=${session.user} search=${loc.search} />`;

  return html`<div class="shell" onClick=${onLinkClick}>
    <a class="skip" href="#main">Skip to content</a>
    <${Header} session=${session} org=${org} lostOrg=${lostOrg} onSignedOut=${signedOut} />
    ${page}
  </div>`;
}

/**
 * The session check, started as this module runs (answered by the page's preload) rather than
 * from the first effect, which waits for a paint. Used once; later checks ask afresh.
 * @type {Promise<Session> | null}
 */
let earlySession = api('GET', '/auth/session');
earlySession.catch(() => {});

// Opening an inbox URL cold: ask for its first page now, alongside the session check.
const start = location.pathname.match(/^\/o\/([0-9a-f-]{36})\/?$/);
if (start?.[1]) prefetchInbox(start[1], location.search);

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
