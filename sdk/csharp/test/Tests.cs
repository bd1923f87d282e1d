// The C# SDK's own test program, run against a real GameMod API:
//     mono Tests.exe config.json
// config: { baseUrl, clientKey, serverSecret, deadUrl (nothing listens), flakyUrl (answers 429
// with Retry-After: 1 to the first try of each Idempotency-Key, then forwards), limitedUrl (the
// same API with a per-player rate limit of 2 burst, 60/min), queueFile,
// adapter ("httpclient" | "unity"), runId }. Prints one line per check and, last,
// "RESULT <json>" with ids for the caller to check in the database. Exits 1 when a check failed.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using GameMod;
using GameMod.Unity;

// Unity's main thread: one thread running every continuation posted to it, as Unity's
// synchronization context does; the UnityEngine stub refuses web requests made elsewhere.
sealed class MainLoop : SynchronizationContext
{
    readonly BlockingCollection<KeyValuePair<SendOrPostCallback, object>> queue = new BlockingCollection<KeyValuePair<SendOrPostCallback, object>>();

    public override void Post(SendOrPostCallback d, object state) => queue.Add(new KeyValuePair<SendOrPostCallback, object>(d, state));

    public static void Run(Func<Task> body)
    {
        var loop = new MainLoop();
        var previous = Current;
        SetSynchronizationContext(loop);
        UnityEngine.StubMainThread.Id = Thread.CurrentThread.ManagedThreadId;
        try
        {
            var task = body();
            task.ContinueWith(_ => loop.queue.CompleteAdding(), TaskScheduler.Default);
            foreach (var item in loop.queue.GetConsumingEnumerable()) item.Key(item.Value);
            task.GetAwaiter().GetResult();
        }
        finally
        {
            UnityEngine.StubMainThread.Id = null;
            SetSynchronizationContext(previous);
        }
    }
}

// Answers from a script, counting what was sent: the SDK's own retry decisions, no server.
sealed class ScriptedTransport : ITransport
{
    readonly Queue<object> answers;
    public int Sent;
    public ScriptedTransport(params object[] script) { answers = new Queue<object>(script); }
    public Task<TransportResponse> SendAsync(TransportRequest request, CancellationToken ct)
    {
        Sent++;
        var next = answers.Count > 0 ? answers.Dequeue() : 500;
        if (next is string) throw new IOException((string)next);
        if (next is TransportResponse) return Task.FromResult((TransportResponse)next);
        var status = (int)next;
        var body = status == 201 ? "{\"announcement\":{\"id\":\"a1\",\"title\":\"t\",\"body\":\"b\"}}" : status == 204 || status == 200 ? "{\"ok\":true}" : "";
        return Task.FromResult(new TransportResponse { Status = status, Body = body });
    }
}

static class Tests
{
    static int failures;
    static Dictionary<string, object> cfg;
    static readonly Dictionary<string, object> results = new Dictionary<string, object>();

    static string C(string k) => (string)cfg[k];

    static void Check(string name, bool ok, object detail = null)
    {
        if (ok) Console.WriteLine("ok   " + name);
        else
        {
            failures++;
            Console.WriteLine("FAIL " + name + (detail != null ? ": " + detail : ""));
        }
    }

    // Runs a call that should fail and returns its exception (null when it succeeded).
    static async Task<GameModException> Fails(Func<Task> call)
    {
        try { await call(); return null; }
        catch (GameModException e) { return e; }
    }

    static ITransport Transport() =>
        C("adapter") == "unity" ? (ITransport)new UnityWebRequestTransport() : new HttpClientTransport();

    static GameModClient Client(string key, string baseUrl = null, IQueueStorage storage = null, int maxRetries = 4, double retryBase = 0.5) =>
        new GameModClient(new GameModOptions
        {
            BaseUrl = baseUrl ?? C("baseUrl"), Key = key, Transport = Transport(), Storage = storage,
            MaxRetries = maxRetries, RetryBase = TimeSpan.FromSeconds(retryBase),
        });

    static int Main(string[] args)
    {
        cfg = (Dictionary<string, object>)Json.Parse(File.ReadAllText(args[0]));
        // A comma-decimal culture, as on many players' machines: JSON must not follow it.
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = new CultureInfo("de-DE");
        JsonChecks();
        StorageChecks();
        RetryChecks();
        PollChecks();
        try
        {
            if (C("adapter") == "unity") MainLoop.Run(Run);
            else Run().GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine("FAIL unexpected: " + e);
        }
        results["adapter"] = C("adapter");
        Console.WriteLine("RESULT " + Json.Serialize(results));
        return failures == 0 ? 0 : 1;
    }

    // A POST with no idempotency key is not sent twice on a 5xx or no answer: the first may have
    // landed (an announcement published twice to every player). A 429 is retried (the server did
    // nothing), and so are the sessions' heartbeat and end.
    static void RetryChecks()
    {
        Func<ScriptedTransport, GameModClient> client = t => new GameModClient(new GameModOptions
        {
            BaseUrl = "http://127.0.0.1:9", Key = "gms_x", Transport = t,
            Delay = (d, ct) => Task.FromResult(0),
        });
        var t1 = new ScriptedTransport(502, 201);
        var e1 = Fails(() => client(t1).PublishAnnouncementAsync("t", "b")).GetAwaiter().GetResult();
        Check("a keyless POST is not retried on 5xx", e1 is ServerException && t1.Sent == 1, t1.Sent);
        var t2 = new ScriptedTransport("connection reset", 201);
        var e2 = Fails(() => client(t2).PublishAnnouncementAsync("t", "b")).GetAwaiter().GetResult();
        Check("a keyless POST is not retried with no answer", e2 is NetworkException && t2.Sent == 1, t2.Sent);
        var t3 = new ScriptedTransport(429, 201);
        var e3 = Fails(() => client(t3).PublishAnnouncementAsync("t", "b")).GetAwaiter().GetResult();
        Check("a keyless POST is retried on 429", e3 == null && t3.Sent == 2, e3);
        var t4 = new ScriptedTransport(503, 200);
        var e4 = Fails(() => client(t4).HeartbeatAsync("s1")).GetAwaiter().GetResult();
        Check("a heartbeat is retried on 5xx", e4 == null && t4.Sent == 2, e4);
    }

    // The server holds its cursor back while another change is still being written, so a poll may
    // send a message again: PollTicketAsync hands each one out once, and the new ones still.
    static void PollChecks()
    {
        Func<string[], string, TransportResponse> thread = (ids, cursor) => new TransportResponse
        {
            Status = 200,
            Body = "{\"ticket\":{\"id\":\"t1\",\"number\":1,\"subject\":\"s\",\"status\":\"open\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\"},\"messages\":["
                + string.Join(",", ids.Select(id => "{\"id\":\"" + id + "\",\"author\":\"staff\",\"body\":\"b\",\"createdAt\":\"2026-01-01T00:00:00Z\"}"))
                + "],\"cursor\":\"" + cursor + "\"}",
        };
        var t = new ScriptedTransport(thread(new[] { "m1", "m2" }, "10"), thread(new[] { "m2", "m3" }, "10"), thread(new[] { "m3" }, "12"));
        var gm = new GameModClient(new GameModOptions { BaseUrl = "http://127.0.0.1:9", Key = "gms_x", Transport = t });
        var handed = new List<string>();
        var noFiles = true;
        for (var i = 0; i < 3; i++)
        {
            var polled = gm.PollTicketAsync("t1", "p1").GetAwaiter().GetResult().Messages;
            handed.AddRange(polled.Select(m => m.Id));
            noFiles &= polled.All(m => m.Attachments != null && m.Attachments.Count == 0);
        }
        // These answers are an older server's, with no attachments field: a message still has its list.
        Check("a message without an attachments field has an empty Attachments list", noFiles);
        Check("PollTicketAsync hands out a message the server sends again only once",
            string.Join(",", handed) == "m1,m2,m3", string.Join(",", handed));
    }

    // A crash after the old queue file went and before the new one took its place left only the
    // .tmp: Load reads it. A save replaces the file and leaves no .tmp behind.
    static void StorageChecks()
    {
        var path = Path.Combine(Path.GetTempPath(), "gamemod-queue-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path + ".tmp", "{\"v\":1,\"items\":[]}");
        var store = new FileQueueStorage(path);
        var recovered = store.Load();
        store.Save("first");
        store.Save("second");
        Check("FileQueueStorage reads a save cut short before its move, and saves over the old file",
            recovered == "{\"v\":1,\"items\":[]}" && store.Load() == "second" && !File.Exists(path + ".tmp"), recovered);
        File.Delete(path);
    }

    static void JsonChecks()
    {
        var text = Json.Serialize(new Dictionary<string, object>
        {
            { "s", "a\"b\\c\n\u0001é" }, { "f", 12.5 }, { "n", -3 }, { "t", true }, { "l", new List<object> { 1, "x" } }, { "skip", null },
        });
        Check("Json.Serialize: escapes, invariant numbers, nulls left out",
            text == "{\"s\":\"a\\\"b\\\\c\\n\\u0001é\",\"f\":12.5,\"n\":-3,\"t\":true,\"l\":[1,\"x\"]}", text);
        var v = (Dictionary<string, object>)Json.Parse("{\"a\":[1,2.5e1,{\"b\":null}],\"u\":\"\\u00e9\\ud83d\\ude00\"}");
        Check("Json.Parse: nested, exponent, null, surrogate pair",
            (double)((List<object>)v["a"])[1] == 25 && ((Dictionary<string, object>)((List<object>)v["a"])[2])["b"] == null && (string)v["u"] == "é😀");
        var refused = 0;
        foreach (var bad in new[] { "{\"a\":1,}", "[1 2]", "\"open", "1 2", "{\"a\" 1}" })
        {
            try { Json.Parse(bad); }
            catch (FormatException) { refused++; }
        }
        Check("Json.Parse refuses bad JSON with a FormatException", refused == 5, refused);
    }

    static async Task Run()
    {
        var run = C("runId");
        var p = new Player("player-" + run, "Ada " + run);
        var q = new Player("cheater-" + run, "Mallory");
        var gm = Client(C("clientKey"));
        var srv = Client(C("serverSecret"));

        // Tickets with player context, idempotent on the client's key.
        var key1 = "ticket-" + run;
        var ticket = await gm.CreateTicketAsync(new NewTicket
        {
            Player = p, Subject = "Stuck in a wall " + run, Body = "I fell through the map near the bridge.",
            Context = new TicketContext
            {
                Platform = "pc", Build = "1.4.2", Region = "eu-west", Server = "eu-1", MatchId = "match-" + run,
                Position = new Position { X = 12.5, Y = -3, Z = 40, Map = "harbour" }, Locale = "en-GB",
                Custom = new Dictionary<string, object> { { "mode", "ranked" }, { "party", new List<object> { "a", "b" } } },
                Log = "12:00 load harbour\n12:01 fell",
            },
        }, key1);
        Check("CreateTicketAsync", ticket.Id != null && ticket.Status == "open" && ticket.Number > 0);
        results["ticketId"] = ticket.Id;
        var again = await gm.CreateTicketAsync(new NewTicket { Player = p, Subject = "Stuck in a wall " + run, Body = "again" }, key1);
        Check("CreateTicketAsync repeated with its key gives the same ticket", again.Id == ticket.Id);

        var reply = await gm.ReplyAsync(ticket.Id, p, "Still stuck, any news?");
        Check("ReplyAsync", reply.Message.Author == "player" && reply.Ticket.Id == ticket.Id);

        var first = await gm.PollTicketAsync(ticket.Id, p.Id);
        Check("PollTicketAsync: first poll has the reply", first.Messages.Any(m => m.Id == reply.Message.Id));
        var second = await gm.PollTicketAsync(ticket.Id, p.Id);
        Check("PollTicketAsync: nothing new", second.Messages.Count == 0 && second.Ticket.Id == ticket.Id);

        var list = await gm.ListTicketsAsync(p.Id);
        Check("ListTicketsAsync", list.Tickets.Any(t => t.Id == ticket.Id) && list.Cursor != null);

        var notMine = await Fails(() => gm.GetTicketAsync(ticket.Id, q.Id));
        Check("another player's ticket is NotFoundException", notMine is NotFoundException, notMine);

        // A file staff sent with a reply (the caller made the ticket, the reply and the file).
        var staff = cfg.ContainsKey("staffFile") ? cfg["staffFile"] as Dictionary<string, object> : null;
        if (staff != null)
        {
            var withFile = await gm.GetTicketAsync((string)staff["ticketId"], (string)staff["playerId"]);
            var staffReply = withFile.Messages.FirstOrDefault(m => m.Id == (string)staff["messageId"]);
            var file = staffReply?.Attachments.FirstOrDefault();
            Check("a staff reply's file is on its message",
                file != null && staffReply.Attachments.Count == 1 && file.Id == (string)staff["attachmentId"]
                && file.Filename == (string)staff["filename"] && file.ContentType == (string)staff["contentType"]
                && file.SizeBytes == (long)(double)staff["sizeBytes"] && file.Url != null,
                file == null ? "no file" : file.Filename + " " + file.SizeBytes);
            var link = file == null ? new AttachmentLink() : await gm.GetAttachmentLinkAsync(file);
            Check("GetAttachmentLinkAsync gives a short-lived download link",
                link.Url != null && link.Url.Contains("/v1/files/" + file.Id + "?token=") && link.ExpiresInSeconds == 60, link.Url);
        }

        // Player reports.
        var report = await gm.ReportPlayerAsync(new PlayerReport
        {
            Reporter = p, Reported = q, Reason = ReportReasons.Cheating, Message = "aimbot " + run, MatchId = "match-" + run,
            Evidence = new Dictionary<string, object> { { "kills", 31 }, { "headshots", 30 } },
        });
        Check("ReportPlayerAsync", report.TicketId != null);
        results["reportTicketId"] = report.TicketId;

        var invalid = await Fails(() => gm.ReportPlayerAsync(new PlayerReport { Reporter = p, Reported = q, Reason = "bogus" }));
        Check("bad input is ValidationException naming the field, not queued",
            invalid is ValidationException && invalid.Status == 422 && invalid.FieldPaths.Any(f => f.Contains("reason"))
            && !invalid.Queued && gm.Queued.Count == 0, invalid);

        // Sessions and the online count.
        var session = await gm.StartSessionAsync(p, "pc", "1.4.2");
        Check("StartSessionAsync", session.Id != null && session.HeartbeatSeconds > 0);
        await gm.HeartbeatAsync(session.Id);
        var online = await gm.GetOnlineCountAsync();
        Check("GetOnlineCountAsync counts the session", online >= 1, online);
        await gm.EndSessionAsync(session.Id);
        var ended = await Fails(() => gm.HeartbeatAsync(session.Id));
        Check("heartbeat after the end is NotFoundException", ended is NotFoundException, ended);

        var code = await srv.CreateLinkCodeAsync(p);
        Check("CreateLinkCodeAsync (server secret)", code.Code != null && Regex.IsMatch(code.Code, "^[A-Z2-9]{8}$") && code.ExpiresAt > DateTimeOffset.UtcNow, code.Code);

        // Announcements: published with the server secret, read by the client with an ETag.
        var title = "Maintenance " + run;
        var published = await srv.PublishAnnouncementAsync(title, "Servers restart at 04:00.");
        Check("PublishAnnouncementAsync (server secret)", published.Id != null && published.Title == title);
        var news = await gm.GetAnnouncementsAsync();
        Check("GetAnnouncementsAsync", news.Changed && news.Announcements.Any(a => a.Title == title));
        var cached = await gm.GetAnnouncementsAsync();
        Check("GetAnnouncementsAsync again: 304, cached list", !cached.Changed && cached.Announcements.Any(a => a.Title == title));
        var notServer = await Fails(() => gm.PublishAnnouncementAsync("x", "y"));
        Check("a client key can't publish: ForbiddenException", notServer is ForbiddenException, notServer);

        var status = await srv.GetModerationStatusAsync(q.Id);
        Check("GetModerationStatusAsync (server secret)", !status.Warned && status.BannedUntil == null && !status.IsBanned(DateTimeOffset.UtcNow)
            && status.Banned == false && status.Muted == false && !status.IsBannedNow);
        var clientStatus = await Fails(() => gm.GetModerationStatusAsync(q.Id));
        Check("GetModerationStatusAsync with a client key: ForbiddenException", clientStatus is ForbiddenException, clientStatus);

        // A wrong key: AuthException at once, nothing queued.
        var bad = Client("gmk_00000000_" + new string('A', 43));
        var auth = await Fails(() => bad.CreateTicketAsync(new NewTicket { Player = p, Subject = "x", Body = "y" }));
        Check("bad key: AuthException, not retried, not queued",
            auth is AuthException && auth.Status == 401 && auth.Attempts == 1 && !auth.Queued && bad.Queued.Count == 0, auth);

        // 429: the flaky proxy refuses the first try with Retry-After: 1; the SDK waits, then succeeds.
        var flaky = Client(C("clientKey"), C("flakyUrl"));
        var clock = Stopwatch.StartNew();
        var after429 = await flaky.ReportPlayerAsync(new PlayerReport { Reporter = p, Reported = q, Reason = ReportReasons.Spam, Message = "429 " + run }, "flaky-" + run);
        var waited = clock.Elapsed.TotalSeconds;
        Check("429 then success after Retry-After", after429.Id != null && waited >= 1, waited);
        results["retryWaitedSeconds"] = waited;

        // 429 from the real server: its per-player bucket there holds 2 requests and refills 1 a second.
        var limited = Client(C("clientKey"), C("limitedUrl"));
        var retries = new List<GameModException>();
        var waits = new List<TimeSpan>();
        limited.Retrying += (e, attempt, wait) => { lock (retries) { retries.Add(e); waits.Add(wait); } };
        clock.Restart();
        for (var i = 0; i < 4; i++) await limited.ListTicketsAsync("busy-" + run);
        waited = clock.Elapsed.TotalSeconds;
        Check("the server's 429: retried after its Retry-After, then answered",
            retries.Count >= 1 && retries[0] is RateLimitException && retries[0].RetryAfterSeconds.HasValue
            && waits[0].TotalSeconds >= retries[0].RetryAfterSeconds.Value && waited >= 0.5, retries.Count + " retries, waited " + waited);
        results["serverRateLimitRetries"] = retries.Count;

        // Server down: calls are queued in storage, and a later client (next game start) sends them.
        var queueFile = C("queueFile");
        var down = Client(C("clientKey"), C("deadUrl"), new FileQueueStorage(queueFile), 1, 0.05);
        var offline = await Fails(() => down.ReportPlayerAsync(new PlayerReport { Reporter = p, Reported = q, Reason = ReportReasons.Griefing, Message = "offline " + run }));
        Check("server down: NetworkException, queued", offline is NetworkException && offline.Queued, offline);
        var offline2 = await Fails(() => down.CreateTicketAsync(new NewTicket { Player = p, Subject = "Offline ticket " + run, Body = "sent from the queue" }));
        Check("second call queued too", offline2 is NetworkException && offline2.Queued && down.Queued.Count == 2, offline2);
        var stored = (Dictionary<string, object>)Json.Parse(File.ReadAllText(queueFile));
        Check("the queue is in storage", ((List<object>)stored["items"]).Count == 2);

        var later = Client(C("clientKey"), null, new FileQueueStorage(queueFile));
        var sentItems = new List<KeyValuePair<QueuedItem, object>>();
        later.ItemSent += (item, data) => sentItems.Add(new KeyValuePair<QueuedItem, object>(item, data));
        Check("a new client loads the queue", later.Queued.Count == 2);
        var sent = await later.FlushAsync();
        Check("FlushAsync sends the queue in order", sent == 2 && sentItems.Count == 2 && sentItems[0].Key.Kind == "report" && sentItems[1].Key.Kind == "ticket", sent);
        Check("the stored queue is empty", ((List<object>)((Dictionary<string, object>)Json.Parse(File.ReadAllText(queueFile)))["items"]).Count == 0);
        if (sentItems.Count == 2)
        {
            results["queuedReportTicketId"] = ((Dictionary<string, object>)((Dictionary<string, object>)sentItems[0].Value)["report"])["ticketId"];
            results["queuedTicketId"] = ((Dictionary<string, object>)((Dictionary<string, object>)sentItems[1].Value)["ticket"])["id"];
        }
    }
}
