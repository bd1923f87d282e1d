using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace GameMod
{
    public sealed class GameModOptions
    {
        /// <summary>The GameMod server, e.g. https://support.example.com (the SDK adds /sdk/v1).</summary>
        public string BaseUrl;
        /// <summary>The game's client key (gmk_...) in game clients, its server secret (gms_...) on game servers.</summary>
        public string Key;
        public ITransport Transport;
        /// <summary>Where unsent tickets, replies and reports wait; in memory when null.</summary>
        public IQueueStorage Storage;
        public int MaxRetries = 4;
        public TimeSpan RetryBase = TimeSpan.FromSeconds(0.5);
        public TimeSpan RetryCap = TimeSpan.FromSeconds(30);
        /// <summary>A Retry-After longer than this is not waited for: the call fails (or is queued).</summary>
        public TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);
        public int TimeoutSeconds = 15;
        public int MaxQueue = 200;
        /// <summary>How the client waits between tries; Task.Delay unless set.</summary>
        public Func<TimeSpan, CancellationToken, Task> Delay;
    }

    /// <summary>
    /// The GameMod client: tickets, replies, reports, sessions, link codes, announcements and
    /// moderation status over /sdk/v1. Safe to share; retries 429, 5xx and network failures with
    /// backoff, waiting at least Retry-After; keeps undeliverable creations in an offline queue.
    /// </summary>
    // No ConfigureAwait(false) in the client: under Unity each await must come back to the main
    // thread, where the next UnityWebRequest is made (HttpClientTransport drops the context itself).
    public sealed partial class GameModClient
    {
        public const string Version = "0.2.0";

        readonly GameModOptions o;
        readonly string baseUrl;
        readonly Random random = new Random();
        readonly object gate = new object();
        readonly List<QueuedItem> queue = new List<QueuedItem>();
        readonly SemaphoreSlim flushing = new SemaphoreSlim(1, 1);
        readonly Dictionary<string, KeyValuePair<string, object>> etags = new Dictionary<string, KeyValuePair<string, object>>();
        readonly Dictionary<string, string> cursors = new Dictionary<string, string>();
        // Per ticket, the ids of the messages in the last answer, which the server may send again.
        readonly Dictionary<string, HashSet<string>> lastIds = new Dictionary<string, HashSet<string>>();

        public GameModClient(GameModOptions options)
        {
            o = options ?? throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrEmpty(o.BaseUrl)) throw new ArgumentException("BaseUrl required");
            if (string.IsNullOrEmpty(o.Key)) throw new ArgumentException("Key required");
            if (o.Transport == null) throw new ArgumentException("Transport required");
            if (o.Storage == null) o.Storage = new MemoryQueueStorage();
            if (o.Delay == null) o.Delay = Task.Delay;
            baseUrl = o.BaseUrl.TrimEnd('/') + "/sdk/v1";
            LoadQueue();
        }

        /// <summary>Raised before a retry: the failure, the try that failed (1-based) and the wait (for logs).</summary>
        public event Action<GameModException, int, TimeSpan> Retrying;
        /// <summary>Raised when a call is put in the offline queue.</summary>
        public event Action<QueuedItem> ItemQueued;
        /// <summary>Raised when a queued item reached the server; the second value is the answer's JSON.</summary>
        public event Action<QueuedItem, object> ItemSent;
        /// <summary>Raised when the server refused a queued item for good (bad input, not found): it leaves the queue.</summary>
        public event Action<QueuedItem, GameModException> ItemDropped;

        internal struct Answer
        {
            public int Status;
            public object Data;
            public Dictionary<string, string> Headers;
        }

        /// <summary>
        /// One exchange with retries; throws a <see cref="GameModException"/> subclass. A 5xx or no
        /// answer may come after the server did the work, so only a request that can't do it twice
        /// is sent again: a GET, one with an idempotency key, or one the caller marks
        /// <paramref name="safe"/>. A 429 is always retried: the server refused before doing anything.
        /// </summary>
        internal async Task<Answer> RequestAsync(string method, string path, object body, string idempotencyKey, string etag, CancellationToken ct, bool safe = false)
        {
            safe = safe || method == "GET" || idempotencyKey != null;
            var req = new TransportRequest { Method = method, Url = baseUrl + path, TimeoutSeconds = o.TimeoutSeconds };
            req.Headers["X-Game-Key"] = o.Key;
            req.Headers["Accept"] = "application/json";
            req.Headers["User-Agent"] = "gamemod-csharp/" + Version;
            if (body != null)
            {
                req.Body = body as string ?? Json.Serialize(body);
                req.Headers["Content-Type"] = "application/json";
            }
            if (idempotencyKey != null) req.Headers["Idempotency-Key"] = idempotencyKey;
            if (etag != null) req.Headers["If-None-Match"] = etag;
            for (var attempt = 0; ; attempt++)
            {
                GameModException error;
                try
                {
                    var res = await o.Transport.SendAsync(req, ct);
                    if (res == null) throw new InvalidOperationException("the transport gave no answer");
                    var answer = Read(res, out error);
                    if (error == null) return answer;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
                catch (GameModException) { throw; }
                catch (Exception e) { error = new NetworkException(e.Message, e); }
                error.Attempts = attempt + 1;
                var tooLong = error.RetryAfterSeconds.HasValue && error.RetryAfterSeconds.Value > o.MaxRetryAfter.TotalSeconds;
                var again = error.Retryable && (safe || error.Status == 429);
                if (!again || attempt >= o.MaxRetries || tooLong) throw error;
                var wait = Backoff(attempt, error.RetryAfterSeconds);
                Retrying?.Invoke(error, attempt + 1, wait);
                await o.Delay(wait, ct);
            }
        }

        TimeSpan Backoff(int attempt, double? retryAfter)
        {
            var exp = Math.Min(o.RetryBase.TotalSeconds * Math.Pow(2, attempt), o.RetryCap.TotalSeconds);
            double jitter;
            lock (random) jitter = random.NextDouble();
            // Half fixed, half jitter: many players retry spread out, never all at once.
            var wait = exp / 2 + jitter * exp / 2;
            if (retryAfter.HasValue && retryAfter.Value > wait) wait = retryAfter.Value;
            return TimeSpan.FromSeconds(wait);
        }

        static Answer Read(TransportResponse res, out GameModException error)
        {
            error = null;
            object data = null;
            var text = res.Body ?? "";
            var parsed = true;
            if (text.Length > 0)
            {
                try { data = Json.Parse(text); }
                catch (FormatException) { parsed = false; }
            }
            var answer = new Answer { Status = res.Status, Data = data, Headers = res.Headers };
            if (res.Status >= 200 && res.Status < 300 || res.Status == 304)
            {
                if (!parsed) error = new ServerException("the answer was not JSON", res.Status, null, null, null, false);
                return answer;
            }
            var e = (data as Dictionary<string, object>)?.TryGetValue("error", out var eo) == true ? eo as Dictionary<string, object> : null;
            var code = e != null ? J.Str(e, "code") : null;
            var message = (e != null ? J.Str(e, "message") : null) ?? "HTTP " + res.Status;
            object details = null;
            e?.TryGetValue("details", out details);
            double? retryAfter = null;
            if (res.Headers.TryGetValue("retry-after", out var ra) &&
                double.TryParse(ra, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs)) retryAfter = secs;
            var s = res.Status;
            switch (s)
            {
                case 401: error = new AuthException(message, s, code, details); break;
                case 403: error = new ForbiddenException(message, s, code, details); break;
                case 404: error = new NotFoundException(message, s, code, details); break;
                case 409: error = new ConflictException(message, s, code, details, code == "conflict"); break;
                case 429: error = new RateLimitException(message, s, code, details, retryAfter); break;
                default:
                    if (s >= 500)
                        error = new ServerException(message, s, code, details, retryAfter, s == 500 || s == 502 || s == 503 || s == 504);
                    else
                        error = new ValidationException(message, s, code, details);
                    break;
            }
            return answer;
        }

        // ---- The offline queue -------------------------------------------------------------

        /// <summary>The items waiting to be sent, oldest first.</summary>
        public IList<QueuedItem> Queued
        {
            get { lock (gate) return queue.ToArray(); }
        }

        void LoadQueue()
        {
            string text;
            try { text = o.Storage.Load(); }
            catch (Exception) { return; }
            if (string.IsNullOrEmpty(text)) return;
            object data;
            try { data = Json.Parse(text); }
            catch (FormatException) { return; }
            if (!(data is Dictionary<string, object> root) || !(root.TryGetValue("items", out var items) && items is List<object> list)) return;
            foreach (var i in list)
                if (i is Dictionary<string, object> d && J.Str(d, "id") != null && J.Str(d, "path") != null)
                    queue.Add(new QueuedItem { Kind = J.Str(d, "kind"), Id = J.Str(d, "id"), Path = J.Str(d, "path"), Body = J.Str(d, "body") });
        }

        // Called with the gate held.
        void SaveQueue()
        {
            var items = new List<object>();
            foreach (var q in queue)
                items.Add(new Dictionary<string, object> { { "kind", q.Kind }, { "id", q.Id }, { "path", q.Path }, { "body", q.Body } });
            o.Storage.Save(Json.Serialize(new Dictionary<string, object> { { "v", 1 }, { "items", items } }));
        }

        bool Enqueue(QueuedItem item)
        {
            lock (gate)
            {
                foreach (var q in queue) if (q.Id == item.Id) return true;
                if (queue.Count >= o.MaxQueue) return false;
                queue.Add(item);
                SaveQueue();
            }
            ItemQueued?.Invoke(item);
            return true;
        }

        /// <summary>
        /// Sends the queued items in order. Returns how many were delivered; throws the failure
        /// that stopped it (the rest stays queued). Refused items leave through <see cref="ItemDropped"/>.
        /// </summary>
        public async Task<int> FlushAsync(CancellationToken ct = default(CancellationToken))
        {
            await flushing.WaitAsync(ct);
            try
            {
                var sent = 0;
                while (true)
                {
                    QueuedItem item;
                    lock (gate) item = queue.Count > 0 ? queue[0] : null;
                    if (item == null) return sent;
                    GameModException refused = null;
                    object data = null;
                    try { data = (await RequestAsync("POST", item.Path, item.Body, item.Id, null, ct)).Data; }
                    catch (GameModException e) when (!e.Retryable && !(e is AuthException)) { refused = e; }
                    lock (gate)
                    {
                        queue.Remove(item);
                        SaveQueue();
                    }
                    if (refused != null) ItemDropped?.Invoke(item, refused);
                    else { sent++; ItemSent?.Invoke(item, data); }
                }
            }
            finally { flushing.Release(); }
        }

        // A creating POST: idempotent, and queued when it can't be delivered now.
        async Task<object> CreateAsync(string kind, string path, IJsonWritable body, string idempotencyKey, bool queueIfOffline, CancellationToken ct)
        {
            var key = idempotencyKey ?? Guid.NewGuid().ToString();
            var text = Json.Serialize(body);
            try
            {
                var answer = await RequestAsync("POST", path, text, key, null, ct);
                bool more;
                lock (gate) more = queue.Count > 0;
                if (more) _ = FlushInBackground();
                return answer.Data;
            }
            catch (GameModException e) when (e.Retryable && queueIfOffline)
            {
                e.Queued = Enqueue(new QueuedItem { Kind = kind, Id = key, Path = path, Body = text });
                e.QueueId = key;
                throw;
            }
        }

        async Task FlushInBackground()
        {
            try { await FlushAsync(); }
            catch (GameModException) { /* still offline: the items stay queued for the next try */ }
        }
    }
}
