using System;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace GameMod
{
    /// <summary>The transport for .NET games and servers: one shared <see cref="HttpClient"/>.</summary>
    public sealed class HttpClientTransport : ITransport, IDisposable
    {
        readonly HttpClient http;
        readonly bool owns;

        public HttpClientTransport() : this(new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan }, true) { }

        /// <param name="client">Your own client; its lifetime stays yours.</param>
        public HttpClientTransport(HttpClient client) : this(client, false) { }

        HttpClientTransport(HttpClient client, bool owns)
        {
            http = client;
            this.owns = owns;
        }

        public async Task<TransportResponse> SendAsync(TransportRequest request, CancellationToken cancellationToken)
        {
            using (var msg = new HttpRequestMessage(new HttpMethod(request.Method), request.Url))
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(request.TimeoutSeconds));
                foreach (var h in request.Headers)
                {
                    if (string.Equals(h.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)) continue;
                    msg.Headers.TryAddWithoutValidation(h.Key, h.Value);
                }
                if (request.Body != null) msg.Content = new StringContent(request.Body, Encoding.UTF8, "application/json");
                else if (request.Method == "POST") msg.Content = new ByteArrayContent(new byte[0]);
                HttpResponseMessage res;
                try
                {
                    res = await http.SendAsync(msg, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException("no answer within " + request.TimeoutSeconds + " s");
                }
                using (res)
                {
                    var answer = new TransportResponse { Status = (int)res.StatusCode };
                    foreach (var h in res.Headers.Concat(res.Content.Headers))
                        answer.Headers[h.Key.ToLowerInvariant()] = string.Join(", ", h.Value);
                    answer.Body = await res.Content.ReadAsStringAsync().ConfigureAwait(false);
                    return answer;
                }
            }
        }

        public void Dispose()
        {
            if (owns) http.Dispose();
        }
    }
}
