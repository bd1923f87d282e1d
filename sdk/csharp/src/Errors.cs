using System;
using System.Collections.Generic;

namespace GameMod
{
    /// <summary>
    /// Every failure of a GameMod call. Catch a subclass to handle one kind; <see cref="Code"/> is
    /// the server's stable error code, <see cref="Status"/> the HTTP status (0 with no answer).
    /// </summary>
    public class GameModException : Exception
    {
        public int Status { get; }
        public string Code { get; }
        /// <summary>The server's details: a list of { path, message } for bad input, or an object.</summary>
        public object Details { get; }
        /// <summary>Seconds the server asked to wait (Retry-After), when it said.</summary>
        public double? RetryAfterSeconds { get; }
        /// <summary>How many tries were made before giving up.</summary>
        public int Attempts { get; internal set; }
        /// <summary>True when the call was put in the offline queue and will be sent later.</summary>
        public bool Queued { get; internal set; }
        /// <summary>The queued item's idempotency key, when <see cref="Queued"/>.</summary>
        public string QueueId { get; internal set; }

        internal bool Retryable { get; }

        public GameModException(string message, int status, string code, object details, double? retryAfter, bool retryable, Exception inner = null)
            : base(message, inner)
        {
            Status = status;
            Code = code;
            Details = details;
            RetryAfterSeconds = retryAfter;
            Retryable = retryable;
        }

        /// <summary>The field paths a validation error names.</summary>
        public IList<string> FieldPaths
        {
            get
            {
                var paths = new List<string>();
                if (Details is List<object> list)
                    foreach (var d in list)
                        if (d is Dictionary<string, object> o && o.TryGetValue("path", out var p) && p is string s) paths.Add(s);
                return paths;
            }
        }
    }

    /// <summary>No key, or a wrong, revoked or expired key (401).</summary>
    public sealed class AuthException : GameModException
    {
        public AuthException(string m, int s, string c, object d) : base(m, s, c, d, null, false) { }
    }

    /// <summary>The key may not call this (a client key on a server route), or the player is blocked (403).</summary>
    public sealed class ForbiddenException : GameModException
    {
        public ForbiddenException(string m, int s, string c, object d) : base(m, s, c, d, null, false) { }
    }

    /// <summary>No such ticket (or not this player's), session or route (404).</summary>
    public sealed class NotFoundException : GameModException
    {
        public NotFoundException(string m, int s, string c, object d) : base(m, s, c, d, null, false) { }
    }

    /// <summary>A reply to a closed ticket, or the same idempotency key still in progress (409).</summary>
    public sealed class ConflictException : GameModException
    {
        public ConflictException(string m, int s, string c, object d, bool retryable) : base(m, s, c, d, null, retryable) { }
    }

    /// <summary>Bad input (400, 413, 415, 422); <see cref="GameModException.FieldPaths"/> names the fields.</summary>
    public sealed class ValidationException : GameModException
    {
        public ValidationException(string m, int s, string c, object d) : base(m, s, c, d, null, false) { }
    }

    /// <summary>A rate limit is spent (429) and the retries ran out.</summary>
    public sealed class RateLimitException : GameModException
    {
        public RateLimitException(string m, int s, string c, object d, double? retryAfter) : base(m, s, c, d, retryAfter, true) { }
    }

    /// <summary>The server failed (5xx) and the retries ran out.</summary>
    public sealed class ServerException : GameModException
    {
        public ServerException(string m, int s, string c, object d, double? retryAfter, bool retryable) : base(m, s, c, d, retryAfter, retryable) { }
    }

    /// <summary>No answer at all: offline, DNS, refused, timed out.</summary>
    public sealed class NetworkException : GameModException
    {
        public NetworkException(string m, Exception inner = null) : base(m, 0, null, null, null, true, inner) { }
    }
}
