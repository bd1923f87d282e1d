// @ts-check

/**
 * @typedef {{ type: 'event', topic: string, seq: number, event: { id?: string, type: string, aggregateId?: string | null, payload?: Record<string, unknown> } }} LiveEvent
 * @typedef {{ userId: string, state: 'viewing' | 'typing' }} Viewer
 * @typedef {(msg: { kind: 'event', topic: string, type: string } | { kind: 'resync', topic: string } | { kind: 'presence', ticketId: string, viewers: Viewer[] } | { kind: 'staff-presence', userId: string, state: 'online' | 'away' | 'offline', lastSeenAt: string } | { kind: 'status', connected: boolean } | { kind: 'ended' } | { kind: 'access-ended' }) => void} Listener
 */

const RETRY_MAX_MS = 15_000;
const PRESENCE_REFRESH_MS = 10_000;
/**
 * While the page is in view, a ping this often keeps the member online in the orgs the socket
 * follows (the server's staff presence lapses after 120 s of silence); a hidden tab stays quiet,
 * so a forgotten window does not keep someone "online" for assignment.
 */
const HEARTBEAT_MS = 45_000;

/**
 * The panel's one WebSocket to /v1/live. It remembers each topic's last sequence number, so after
 * a reconnect or a gap (seq 7 after 5) it subscribes again with `after` and gets what it missed;
 * when the server says the backlog no longer reaches back, listeners are told to refetch.
 */
export class LiveClient {
  constructor() {
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {Map<string, { orgId: string, ticketId?: string, notifications?: boolean, seq: number | null, count: number }>} */
    this.topics = new Map();
    /** @type {Set<Listener>} */
    this.listeners = new Set();
    /** @type {Map<string, { orgId: string, state: 'viewing' | 'typing' }>} */
    this.presence = new Map();
    this.retryMs = 500;
    this.closed = false;
    this.connected = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.presenceTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.heartbeatTimer = null;
  }

  connect() {
    if (this.ws || this.closed) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/live`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 500;
      this.setConnected(true);
      for (const t of this.topics.values()) this.sendSubscribe(t);
      for (const [ticketId, p] of this.presence)
        this.send({ type: 'presence', orgId: p.orgId, ticketId, state: p.state });
    };
    ws.onmessage = (m) => this.receive(String(m.data));
    ws.onclose = (ev) => {
      this.ws = null;
      this.setConnected(false);
      if (this.closed) return;
      // 4001: the sign-in ended (signed out elsewhere, timed out, revoked). Reconnecting cannot
      // bring it back, and retrying every 15 s for ever only hid it: stop, and say so.
      if (ev.code === 4001) {
        this.close();
        this.emit({ kind: 'ended' });
        return;
      }
      // 4003: access to an organization this page follows ended (removed, or a role that no
      // longer reads tickets). A reconnect would subscribe to it again and be refused, behind a
      // dot saying "live". Forget what was followed, stay off until the page follows something
      // again (the organization the member is moved to), and let the page say so.
      if (ev.code === 4003) {
        this.topics.clear();
        this.presence.clear();
        this.retryMs = 500;
        this.emit({ kind: 'access-ended' });
        return;
      }
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
    if (!this.presenceTimer) {
      // Presence lapses after 30 s on the server; refresh it while the ticket stays open.
      this.presenceTimer = setInterval(() => {
        for (const [ticketId, p] of this.presence)
          this.send({ type: 'presence', orgId: p.orgId, ticketId, state: p.state });
      }, PRESENCE_REFRESH_MS);
      this.heartbeatTimer = setInterval(() => {
        if (document.visibilityState === 'visible') this.send({ type: 'ping' });
      }, HEARTBEAT_MS);
      // Back to the tab: online again now, not at the next beat.
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') this.send({ type: 'ping' });
      });
    }
  }

  close() {
    this.closed = true;
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.ws?.close();
  }

  /** @param {boolean} connected */
  setConnected(connected) {
    this.connected = connected;
    this.emit({ kind: 'status', connected });
  }

  /** @param {Listener} fn */
  listen(fn) {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** @param {Parameters<Listener>[0]} msg */
  emit(msg) {
    for (const fn of this.listeners) fn(msg);
  }

  /** @param {unknown} msg */
  send(msg) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** @param {{ orgId: string, ticketId?: string, notifications?: boolean, seq: number | null }} t */
  sendSubscribe(t) {
    this.send({
      type: 'subscribe',
      orgId: t.orgId,
      ...(t.ticketId ? { ticketId: t.ticketId } : {}),
      ...(t.notifications ? { notifications: true } : {}),
      ...(t.seq !== null ? { after: t.seq } : {}),
    });
  }

  /**
   * Follows an org's inbox, or one ticket; returns the function that stops following.
   * @param {string} orgId
   * @param {string} [ticketId]
   */
  subscribe(orgId, ticketId) {
    const topic = ticketId ? `ticket:${ticketId}` : `org:${orgId}`;
    const existing = this.topics.get(topic);
    if (existing) existing.count++;
    else {
      const t = { orgId, ticketId, seq: null, count: 1 };
      this.topics.set(topic, t);
      this.sendSubscribe(t);
    }
    this.connect();
    return () => {
      const t = this.topics.get(topic);
      if (!t || --t.count > 0) return;
      this.topics.delete(topic);
      this.send({ type: 'unsubscribe', orgId, ...(ticketId ? { ticketId } : {}) });
    };
  }

  /**
   * Follows the signed-in member's own notifications in an org (the bell); returns the function
   * that stops following.
   * @param {string} orgId
   * @param {string} userId
   */
  subscribeNotifications(orgId, userId) {
    const topic = `member:${orgId}:${userId}`;
    const existing = this.topics.get(topic);
    if (existing) existing.count++;
    else {
      const t = { orgId, notifications: true, seq: null, count: 1 };
      this.topics.set(topic, t);
      this.sendSubscribe(t);
    }
    this.connect();
    return () => {
      const t = this.topics.get(topic);
      if (!t || --t.count > 0) return;
      this.topics.delete(topic);
      this.send({ type: 'unsubscribe', orgId, notifications: true });
    };
  }

  /**
   * Says what this person is doing in a ticket; null when they leave it.
   * @param {string} orgId
   * @param {string} ticketId
   * @param {'viewing' | 'typing' | null} state
   */
  setPresence(orgId, ticketId, state) {
    const current = this.presence.get(ticketId);
    if (state === null) {
      if (!current) return;
      this.presence.delete(ticketId);
      this.send({ type: 'presence', orgId, ticketId, state: 'left' });
      return;
    }
    if (current?.state === state) return;
    this.presence.set(ticketId, { orgId, state });
    this.send({ type: 'presence', orgId, ticketId, state });
  }

  /** @param {string} raw */
  receive(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.type === 'subscribed' || msg.type === 'event') {
      const t = this.topics.get(msg.topic);
      if (!t) return;
      if (msg.type === 'subscribed') {
        // With `after` the server replays what we missed; without, we start from now.
        if (t.seq === null) t.seq = msg.seq;
        return;
      }
      if (t.seq !== null && msg.seq > t.seq + 1) {
        // A gap: ask for what lies between, the events arrive again in order.
        this.sendSubscribe(t);
        return;
      }
      if (t.seq !== null && msg.seq <= t.seq) return;
      t.seq = msg.seq;
      this.emit({ kind: 'event', topic: msg.topic, type: String(msg.event?.type ?? '') });
    } else if (msg.type === 'resync') {
      const t = this.topics.get(msg.topic);
      if (t) t.seq = null;
      this.emit({ kind: 'resync', topic: msg.topic });
    } else if (msg.type === 'presence') {
      this.emit({ kind: 'presence', ticketId: msg.ticketId, viewers: msg.viewers ?? [] });
    } else if (msg.type === 'staff-presence') {
      this.emit({ kind: 'staff-presence', userId: msg.userId, state: msg.state, lastSeenAt: msg.lastSeenAt });
    }
  }
}

export const live = new LiveClient();
