// A small stand-in for the UnityEngine types the Unity adapter uses, with the same names and
// signatures, so the adapter compiles without Unity. It works, too (over HttpClient, completing
// on a pool thread as Unity completes on its main loop), so the tests run the adapter against
// a real server.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace UnityEngine
{
    public class AsyncOperation
    {
        Action<AsyncOperation> handlers;
        bool done;
        readonly object gate = new object();
        public bool isDone { get { lock (gate) return done; } }
        public event Action<AsyncOperation> completed
        {
            add
            {
                bool now;
                lock (gate) { now = done; if (!now) handlers += value; }
                if (now) value(this); // Unity calls a late subscriber at once
            }
            remove { lock (gate) handlers -= value; }
        }
        internal void Complete()
        {
            Action<AsyncOperation> h;
            lock (gate) { done = true; h = handlers; handlers = null; }
            h?.Invoke(this);
        }
    }

    /// <summary>The test's stand-in for Unity's main thread: set it, and the stub refuses other threads as Unity does.</summary>
    public static class StubMainThread
    {
        public static int? Id;
        public static void Check(string what)
        {
            if (Id.HasValue && Thread.CurrentThread.ManagedThreadId != Id.Value)
                throw new InvalidOperationException(what + " can only be called from the main thread");
        }
    }

    public static class PlayerPrefs
    {
        static readonly Dictionary<string, string> values = new Dictionary<string, string>();
        public static bool HasKey(string key) { lock (values) return values.ContainsKey(key); }
        public static string GetString(string key) { lock (values) return values.TryGetValue(key, out var v) ? v : ""; }
        public static void SetString(string key, string value) { lock (values) values[key] = value; }
        public static void Save() { }
    }
}

namespace UnityEngine.Networking
{
    public class UnityWebRequestAsyncOperation : AsyncOperation { }

    public class DownloadHandler
    {
        public byte[] data { get; internal set; }
        public string text => data == null ? null : System.Text.Encoding.UTF8.GetString(data);
    }

    public sealed class DownloadHandlerBuffer : DownloadHandler { }

    public class UploadHandler
    {
        public byte[] data { get; protected set; }
        public string contentType { get; set; }
    }

    public sealed class UploadHandlerRaw : UploadHandler
    {
        public UploadHandlerRaw(byte[] bytes) { data = bytes; }
    }

    public sealed class UnityWebRequest : IDisposable
    {
        static readonly HttpClient http = new HttpClient();
        readonly Dictionary<string, string> requestHeaders = new Dictionary<string, string>();
        readonly CancellationTokenSource abort = new CancellationTokenSource();
        Dictionary<string, string> responseHeaders;

        public UnityWebRequest(string url, string method)
        {
            StubMainThread.Check("UnityWebRequest");
            this.url = url;
            this.method = method;
        }
        public string url { get; set; }
        public string method { get; set; }
        public int timeout { get; set; }
        public long responseCode { get; private set; }
        public string error { get; private set; }
        public DownloadHandler downloadHandler { get; set; }
        public UploadHandler uploadHandler { get; set; }

        public void SetRequestHeader(string name, string value)
        {
            if (name == "User-Agent" || name == "Content-Length") throw new InvalidOperationException("Unity refuses to set " + name);
            requestHeaders[name] = value;
        }

        public string GetResponseHeader(string name) =>
            responseHeaders?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

        public Dictionary<string, string> GetResponseHeaders() => responseHeaders;

        public void Abort() => abort.Cancel();

        public UnityWebRequestAsyncOperation SendWebRequest()
        {
            StubMainThread.Check("SendWebRequest");
            var op = new UnityWebRequestAsyncOperation();
            // Unity raises `completed` on the main thread: post it back to the caller's context.
            var main = SynchronizationContext.Current;
            Task.Run(async () =>
            {
                try
                {
                    var msg = new HttpRequestMessage(new HttpMethod(method), url);
                    foreach (var h in requestHeaders) msg.Headers.TryAddWithoutValidation(h.Key, h.Value);
                    if (uploadHandler != null)
                    {
                        msg.Content = new ByteArrayContent(uploadHandler.data);
                        if (uploadHandler.contentType != null) msg.Content.Headers.TryAddWithoutValidation("Content-Type", uploadHandler.contentType);
                    }
                    if (timeout > 0) abort.CancelAfter(TimeSpan.FromSeconds(timeout));
                    using (var res = await http.SendAsync(msg, abort.Token))
                    {
                        responseCode = (long)res.StatusCode;
                        responseHeaders = res.Headers.Concat(res.Content.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value));
                        var bytes = await res.Content.ReadAsByteArrayAsync();
                        if (downloadHandler != null) downloadHandler.data = bytes;
                    }
                }
                catch (Exception e)
                {
                    responseCode = 0;
                    error = e is OperationCanceledException ? "Request timeout" : "Cannot connect to destination host";
                }
                if (main != null) main.Post(_ => op.Complete(), null);
                else op.Complete();
            });
            return op;
        }

        public void Dispose() => abort.Dispose();
    }
}

namespace UnityEngine
{
    public enum RuntimePlatform { LinuxPlayer, WindowsPlayer, OSXPlayer, Android, IPhonePlayer, WebGLPlayer }

    public static class Application
    {
        public static RuntimePlatform platform => RuntimePlatform.LinuxPlayer;
        public static string version => "0.0.0";
        public static string persistentDataPath => System.IO.Path.GetTempPath();
    }

    public static class Debug
    {
        public static void Log(object message) => System.Console.WriteLine(message);
    }

    public class MonoBehaviour { }
}
