using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace GameMod
{
    // The calls of PROTOCOL.md, one method each.
    public sealed partial class GameModClient
    {
        static string E(string s) => Uri.EscapeDataString(s ?? "");

        static Dictionary<string, object> Root(Answer a) => J.Obj(a.Data, "body");

        // A GET that remembers the ETag: a 304 hands back the cached answer.
        async Task<KeyValuePair<object, bool>> CachedGetAsync(string path, CancellationToken ct)
        {
            KeyValuePair<string, object> cached;
            bool have;
            lock (etags) have = etags.TryGetValue(path, out cached);
            var a = await RequestAsync("GET", path, null, null, have ? cached.Key : null, ct);
            if (a.Status == 304 && have) return new KeyValuePair<object, bool>(cached.Value, false);
            string etag; // declared apart: mcs fails on `out var` inside async methods
            if (a.Headers.TryGetValue("etag", out etag))
                lock (etags)
                {
                    // Each new cursor is a new path: start over past 100 so a long session stays bounded.
                    if (etags.Count >= 100 && !etags.ContainsKey(path)) etags.Clear();
                    etags[path] = new KeyValuePair<string, object>(etag, a.Data);
                }
            return new KeyValuePair<object, bool>(a.Data, true);
        }

        /// <summary>Opens a ticket with the player's context. Queued when offline (the exception says so).</summary>
        public async Task<Ticket> CreateTicketAsync(NewTicket ticket, string idempotencyKey = null, bool queueIfOffline = true, CancellationToken ct = default(CancellationToken))
        {
            var data = await CreateAsync("ticket", "/tickets", ticket, idempotencyKey, queueIfOffline, ct);
            return Ticket.Read(J.Obj(J.Obj(data, "body")["ticket"], "ticket"));
        }

        /// <summary>The player replies to their own ticket.</summary>
        public async Task<ReplyResult> ReplyAsync(string ticketId, Player player, string body, string idempotencyKey = null, bool queueIfOffline = true, CancellationToken ct = default(CancellationToken))
        {
            var data = J.Obj(await CreateAsync("reply", "/tickets/" + E(ticketId) + "/replies", new ReplyBody { Player = player, Body = body },
                idempotencyKey, queueIfOffline, ct), "body");
            return new ReplyResult { Message = Message.Read(J.Obj(data["message"], "message")), Ticket = Ticket.Read(J.Obj(data["ticket"], "ticket")) };
        }

        sealed class ReplyBody : IJsonWritable
        {
            public Player Player;
            public string Body;
            public object ToJson() => new Dictionary<string, object> { { "player", Player }, { "body", Body } };
        }

        /// <summary>Reports a player to the studio's moderators. Queued when offline.</summary>
        public async Task<Report> ReportPlayerAsync(PlayerReport report, string idempotencyKey = null, bool queueIfOffline = true, CancellationToken ct = default(CancellationToken))
        {
            var data = await CreateAsync("report", "/reports", report, idempotencyKey, queueIfOffline, ct);
            return Report.Read(J.Obj(J.Obj(data, "body")["report"], "report"));
        }

        /// <summary>The player's tickets (with <paramref name="since"/>, only those changed after that cursor).</summary>
        public async Task<TicketList> ListTicketsAsync(string playerId, string since = null, CancellationToken ct = default(CancellationToken))
        {
            var path = "/tickets?playerId=" + E(playerId) + (since != null ? "&since=" + E(since) : "");
            var r = await CachedGetAsync(path, ct);
            var o = J.Obj(r.Key, "body");
            return new TicketList { Tickets = J.List(o, "tickets", Ticket.Read), Cursor = J.Str(o, "cursor"), Changed = r.Value };
        }

        /// <summary>One of the player's tickets and its messages (with a cursor, only newer messages).</summary>
        public async Task<TicketThread> GetTicketAsync(string ticketId, string playerId, string since = null, CancellationToken ct = default(CancellationToken))
        {
            var path = "/tickets/" + E(ticketId) + "?playerId=" + E(playerId) + (since != null ? "&since=" + E(since) : "");
            var r = await CachedGetAsync(path, ct);
            var o = J.Obj(r.Key, "body");
            return new TicketThread
            {
                Ticket = Ticket.Read(J.Obj(o["ticket"], "ticket")), Messages = J.List(o, "messages", Message.Read),
                Cursor = J.Str(o, "cursor"), Changed = r.Value,
            };
        }

        /// <summary>
        /// Polls a ticket: the first call returns every message, later ones only new messages
        /// (the client keeps the cursor). Cheap to call every few seconds.
        /// </summary>
        public async Task<TicketThread> PollTicketAsync(string ticketId, string playerId, CancellationToken ct = default(CancellationToken))
        {
            string since;
            lock (cursors) cursors.TryGetValue(ticketId, out since);
            var t = await GetTicketAsync(ticketId, playerId, since, ct);
            if (!t.Changed)
            {
                if (t.Cursor != null) lock (cursors) cursors[ticketId] = t.Cursor;
                t.Messages = new List<Message>(); // a 304: those messages were handed out already
                return t;
            }
            // The server may send a message again (it holds its cursor back while another change
            // is still being written): one in the previous answer is not handed out twice.
            var sent = new HashSet<string>(t.Messages.Select(m => m.Id));
            lock (cursors)
            {
                if (t.Cursor != null) cursors[ticketId] = t.Cursor;
                HashSet<string> before;
                if (lastIds.TryGetValue(ticketId, out before)) t.Messages = t.Messages.Where(m => !before.Contains(m.Id)).ToList();
                lastIds[ticketId] = sent;
            }
            return t;
        }

        /// <summary>Starts a play session; send <see cref="HeartbeatAsync"/> every <see cref="Session.HeartbeatSeconds"/>.</summary>
        public async Task<Session> StartSessionAsync(Player player, string platform = null, string build = null, CancellationToken ct = default(CancellationToken))
        {
            var body = new Dictionary<string, object> { { "player", player }, { "platform", platform }, { "build", build } };
            var o = Root(await RequestAsync("POST", "/sessions", Json.Serialize(body), null, null, ct));
            var s = J.Obj(o["session"], "session");
            return new Session { Id = J.Str(s, "id"), StartedAt = J.Date(s, "startedAt"), HeartbeatSeconds = J.Int(o, "heartbeatSeconds") };
        }

        public Task HeartbeatAsync(string sessionId, CancellationToken ct = default(CancellationToken)) =>
            RequestAsync("POST", "/sessions/" + E(sessionId) + "/heartbeat", null, null, null, ct, safe: true);

        public Task EndSessionAsync(string sessionId, CancellationToken ct = default(CancellationToken)) =>
            RequestAsync("POST", "/sessions/" + E(sessionId) + "/end", null, null, null, ct, safe: true);

        /// <summary>Sends heartbeats until <paramref name="ct"/> is cancelled or the session is gone.</summary>
        public async Task KeepAliveAsync(Session session, CancellationToken ct)
        {
            var every = TimeSpan.FromSeconds(Math.Max(1, session.HeartbeatSeconds));
            while (!ct.IsCancellationRequested)
            {
                try { await o.Delay(every, ct); }
                catch (OperationCanceledException) { return; }
                try { await HeartbeatAsync(session.Id, ct); }
                catch (NotFoundException) { return; }
                catch (GameModException) { /* the next beat tries again */ }
                catch (OperationCanceledException) { return; }
            }
        }

        /// <summary>A download link for a message's file, valid for a minute: fetch it straight away.</summary>
        public async Task<AttachmentLink> GetAttachmentLinkAsync(Attachment attachment, CancellationToken ct = default(CancellationToken))
        {
            var path = attachment.Url ?? "";
            if (path.StartsWith("/sdk/v1", StringComparison.Ordinal)) path = path.Substring("/sdk/v1".Length);
            var o = Root(await RequestAsync("GET", path, null, null, null, ct));
            return new AttachmentLink
            {
                Url = J.Str(o, "url"),
                ExpiresInSeconds = J.IntOrNull(o, "expiresInSeconds"),
            };
        }

        /// <summary>Players online now in this key's game.</summary>
        public async Task<int> GetOnlineCountAsync(CancellationToken ct = default(CancellationToken)) =>
            J.Int(Root(await RequestAsync("GET", "/online", null, null, null, ct)), "online");

        /// <summary>A one-time code the player types as /link in the studio's Discord.</summary>
        public async Task<LinkCode> CreateLinkCodeAsync(Player player, CancellationToken ct = default(CancellationToken))
        {
            var body = new Dictionary<string, object> { { "player", player } };
            var o = Root(await RequestAsync("POST", "/link-codes", Json.Serialize(body), null, null, ct));
            return new LinkCode { Code = J.Str(o, "code"), ExpiresAt = J.Date(o, "expiresAt") };
        }

        /// <summary>Current announcements; polling is cheap (ETag, 304).</summary>
        public async Task<AnnouncementList> GetAnnouncementsAsync(CancellationToken ct = default(CancellationToken))
        {
            var r = await CachedGetAsync("/announcements", ct);
            return new AnnouncementList { Announcements = J.List(J.Obj(r.Key, "body"), "announcements", Announcement.Read), Changed = r.Value };
        }

        /// <summary>[server secret] Publishes an announcement to every player of the game.</summary>
        public async Task<Announcement> PublishAnnouncementAsync(string title, string body, DateTimeOffset? expiresAt = null, CancellationToken ct = default(CancellationToken))
        {
            var req = new Dictionary<string, object> { { "title", title }, { "body", body }, { "expiresAt", expiresAt } };
            var o = Root(await RequestAsync("POST", "/announcements", Json.Serialize(req), null, null, ct));
            return Announcement.Read(J.Obj(o["announcement"], "announcement"));
        }

        /// <summary>[server secret] Whether a player is warned, muted or banned, and why.</summary>
        public async Task<ModerationStatus> GetModerationStatusAsync(string playerId, CancellationToken ct = default(CancellationToken))
        {
            var o = Root(await RequestAsync("GET", "/moderation/" + E(playerId), null, null, null, ct));
            return new ModerationStatus
            {
                PlayerId = J.Str(o, "playerId"), Warned = J.Bool(o, "warned"), MutedUntil = J.Date(o, "mutedUntil"),
                BannedUntil = J.Date(o, "bannedUntil"), Reason = J.Str(o, "reason"),
                Banned = J.OptBool(o, "banned"), Muted = J.OptBool(o, "muted"),
            };
        }
    }
}
