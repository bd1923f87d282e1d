using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using UnityEngine.Networking;

namespace GameMod.Unity
{
    /// <summary>
    /// The transport for Unity (every platform UnityWebRequest runs on, WebGL included). Create
    /// and call the client from the main thread: UnityWebRequest lives there, and so do the
    /// continuations of the awaits, through Unity's synchronization context.
    /// </summary>
    public sealed class UnityWebRequestTransport : ITransport
    {
        public Task<TransportResponse> SendAsync(TransportRequest request, CancellationToken cancellationToken)
        {
            var done = new TaskCompletionSource<TransportResponse>();
            var www = new UnityWebRequest(request.Url, request.Method);
            www.downloadHandler = new DownloadHandlerBuffer();
            if (request.Body != null)
            {
                www.uploadHandler = new UploadHandlerRaw(Encoding.UTF8.GetBytes(request.Body));
                www.uploadHandler.contentType = "application/json";
            }
            foreach (var h in request.Headers)
            {
                // Browsers (WebGL) refuse to let scripts set User-Agent; the upload handler sets the type.
                if (string.Equals(h.Key, "User-Agent", StringComparison.OrdinalIgnoreCase)) continue;
                if (string.Equals(h.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)) continue;
                www.SetRequestHeader(h.Key, h.Value);
            }
            www.timeout = request.TimeoutSeconds;
            var registration = cancellationToken.Register(() => www.Abort());
            var op = www.SendWebRequest();
            op.completed += _ =>
            {
                registration.Dispose();
                try
                {
                    if (cancellationToken.IsCancellationRequested) done.TrySetCanceled();
                    // No HTTP status at all means no answer came (offline, refused, timed out).
                    else if (www.responseCode == 0) done.TrySetException(new Exception(www.error ?? "no answer"));
                    else
                    {
                        var res = new TransportResponse { Status = (int)www.responseCode, Body = www.downloadHandler.text ?? "" };
                        var headers = www.GetResponseHeaders();
                        if (headers != null)
                            foreach (var kv in headers) res.Headers[kv.Key.ToLowerInvariant()] = kv.Value;
                        done.TrySetResult(res);
                    }
                }
                finally { www.Dispose(); }
            };
            return done.Task;
        }
    }

    /// <summary>The offline queue in PlayerPrefs (small queues; a file under persistentDataPath suits large ones).</summary>
    public sealed class PlayerPrefsQueueStorage : IQueueStorage
    {
        readonly string key;
        public PlayerPrefsQueueStorage(string key = "gamemod.queue") { this.key = key; }
        public string Load() => UnityEngine.PlayerPrefs.HasKey(key) ? UnityEngine.PlayerPrefs.GetString(key) : null;
        public void Save(string text)
        {
            UnityEngine.PlayerPrefs.SetString(key, text);
            UnityEngine.PlayerPrefs.Save();
        }
    }
}
