using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace GameMod
{
    /// <summary>One HTTP request as the client hands it to a transport.</summary>
    public sealed class TransportRequest
    {
        public string Method;
        public string Url;
        public Dictionary<string, string> Headers = new Dictionary<string, string>();
        /// <summary>The JSON body, or null for none.</summary>
        public string Body;
        public int TimeoutSeconds = 15;
    }

    /// <summary>An HTTP answer, whatever its status. Header names are lower case.</summary>
    public sealed class TransportResponse
    {
        public int Status;
        public Dictionary<string, string> Headers = new Dictionary<string, string>();
        public string Body = "";
    }

    /// <summary>
    /// Sends requests. Return a response for every HTTP answer (4xx and 5xx included); throw
    /// when no answer came (the client turns that into a <see cref="NetworkException"/>).
    /// </summary>
    public interface ITransport
    {
        Task<TransportResponse> SendAsync(TransportRequest request, CancellationToken cancellationToken);
    }
}
