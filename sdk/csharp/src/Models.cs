using System;
using System.Collections.Generic;
using System.Globalization;

namespace GameMod
{
    // Reading answers: tolerant of fields a newer server adds, strict about the ones we need.
    static class J
    {
        public static Dictionary<string, object> Obj(object v, string what) =>
            v as Dictionary<string, object> ?? throw new ServerException("the answer has no " + what, 200, null, null, null, false);
        public static string Str(Dictionary<string, object> o, string k) => o.TryGetValue(k, out var v) ? v as string : null;
        public static int Int(Dictionary<string, object> o, string k) => o.TryGetValue(k, out var v) && v is double d ? (int)d : 0;
        public static int? IntOrNull(Dictionary<string, object> o, string k) => o.TryGetValue(k, out var v) && v is double d ? (int)d : (int?)null;
        public static long Long(Dictionary<string, object> o, string k) => o.TryGetValue(k, out var v) && v is double d ? (long)d : 0;
        public static bool Bool(Dictionary<string, object> o, string k) => o.TryGetValue(k, out var v) && v is bool b && b;
        /// <summary>Null when the field is missing (a server older than it).</summary>
        public static bool? OptBool(Dictionary<string, object> o, string k) => o.TryGetValue(k, out var v) && v is bool b ? b : (bool?)null;
        public static DateTimeOffset? Date(Dictionary<string, object> o, string k) =>
            Str(o, k) is string s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : (DateTimeOffset?)null;
        public static List<T> List<T>(Dictionary<string, object> o, string k, Func<Dictionary<string, object>, T> read)
        {
            var list = new List<T>();
            if (o.TryGetValue(k, out var v) && v is List<object> items)
                foreach (var i in items)
                    if (i is Dictionary<string, object> d) list.Add(read(d));
            return list;
        }
    }

    /// <summary>A player: the game's own account id (1..200) and display name (1..100).</summary>
    public sealed class Player : IJsonWritable
    {
        public string Id;
        public string Name;
        public Player() { }
        public Player(string id, string name) { Id = id; Name = name; }
        public object ToJson() => new Dictionary<string, object> { { "id", Id }, { "name", Name } };
    }

    public sealed class Position : IJsonWritable
    {
        public double X, Y;
        public double? Z;
        public string Map;
        public object ToJson() => new Dictionary<string, object> { { "x", X }, { "y", Y }, { "z", Z }, { "map", Map } };
    }

    /// <summary>What staff see about where the player was. Every field is optional.</summary>
    public sealed class TicketContext : IJsonWritable
    {
        public string Platform, Build, Region, Server, MatchId, Locale, Log;
        public Position Position;
        /// <summary>Up to 50 keys of your own; values are strings, numbers, booleans, lists or dictionaries.</summary>
        public Dictionary<string, object> Custom;
        public object ToJson() => new Dictionary<string, object>
        {
            { "platform", Platform }, { "build", Build }, { "region", Region }, { "server", Server },
            { "matchId", MatchId }, { "position", Position }, { "locale", Locale }, { "custom", Custom }, { "log", Log },
        };
    }

    public sealed class NewTicket : IJsonWritable
    {
        public Player Player;
        public string Subject, Body;
        /// <summary>A category id of the studio's, or null.</summary>
        public string Category;
        public TicketContext Context;
        public object ToJson() => new Dictionary<string, object>
        {
            { "player", Player }, { "subject", Subject }, { "body", Body }, { "category", Category }, { "context", Context },
        };
    }

    public sealed class Ticket
    {
        public string Id, Subject, Status;
        /// <summary>Set once staff merged this ticket into another (it is closed): read and reply there.</summary>
        public string MergedIntoId;
        public int Number;
        public DateTimeOffset? CreatedAt, UpdatedAt;
        internal static Ticket Read(Dictionary<string, object> o) => new Ticket
        {
            Id = J.Str(o, "id"), Number = J.Int(o, "number"), Subject = J.Str(o, "subject"), Status = J.Str(o, "status"),
            CreatedAt = J.Date(o, "createdAt"), UpdatedAt = J.Date(o, "updatedAt"),
            MergedIntoId = J.Str(o, "mergedIntoId"),
        };
    }

    public sealed class Message
    {
        /// <summary>
        /// Author: "player" (your player), "participant" (someone else on the player's side: a guildmate
        /// staff added to the ticket on Discord, someone in a public forum post) or "staff". Show a value
        /// you don't know as not your player's.
        /// </summary>
        public string Id, Author, Body;
        public DateTimeOffset? CreatedAt;
        /// <summary>The message's files (a staff reply's, the player's own from Discord or email); empty when none.</summary>
        public List<Attachment> Attachments;
        internal static Message Read(Dictionary<string, object> o) => new Message
        {
            Id = J.Str(o, "id"), Author = J.Str(o, "author"), Body = J.Str(o, "body"), CreatedAt = J.Date(o, "createdAt"),
            Attachments = J.List(o, "attachments", Attachment.Read),
        };
    }

    /// <summary>A file on a message. Get a download link for it with <c>GetAttachmentLinkAsync</c>.</summary>
    public sealed class Attachment
    {
        public string Id, Filename, ContentType;
        public long SizeBytes;
        /// <summary>A path on the server (not a download link); it never changes.</summary>
        public string Url;
        internal static Attachment Read(Dictionary<string, object> o) => new Attachment
        {
            Id = J.Str(o, "id"), Filename = J.Str(o, "filename"), ContentType = J.Str(o, "contentType"),
            SizeBytes = J.Long(o, "sizeBytes"), Url = J.Str(o, "url"),
        };
    }

    /// <summary>A short-lived download link for a file: fetch it at once, without the key.</summary>
    public sealed class AttachmentLink
    {
        public string Url;
        /// <summary>How long the link works (60 s), or null for a file still only on Discord's CDN.</summary>
        public int? ExpiresInSeconds;
    }

    /// <summary>A ticket with its messages (only the new ones when read with a cursor).</summary>
    public sealed class TicketThread
    {
        public Ticket Ticket;
        public List<Message> Messages;
        public string Cursor;
        /// <summary>False when the server answered 304 (nothing changed since the last read).</summary>
        public bool Changed = true;
    }

    public sealed class TicketList
    {
        public List<Ticket> Tickets;
        public string Cursor;
        public bool Changed = true;
    }

    public sealed class ReplyResult
    {
        public Message Message;
        public Ticket Ticket;
    }

    /// <summary>Reasons the server accepts for a report.</summary>
    public static class ReportReasons
    {
        public const string Cheating = "cheating", Exploiting = "exploiting", Harassment = "harassment",
            HateSpeech = "hate_speech", Threats = "threats", Spam = "spam", Scam = "scam", Griefing = "griefing",
            InappropriateName = "inappropriate_name", InappropriateContent = "inappropriate_content",
            Impersonation = "impersonation", RealMoneyTrading = "real_money_trading", Underage = "underage",
            SelfHarm = "self_harm", Other = "other";
    }

    public sealed class PlayerReport : IJsonWritable
    {
        public Player Reporter, Reported;
        /// <summary>One of <see cref="ReportReasons"/>.</summary>
        public string Reason;
        public string Message, MatchId;
        public Dictionary<string, object> Evidence;
        public object ToJson() => new Dictionary<string, object>
        {
            { "reporter", Reporter }, { "reported", Reported }, { "reason", Reason }, { "message", Message },
            { "matchId", MatchId }, { "evidence", Evidence },
        };
    }

    public sealed class Report
    {
        public string Id, TicketId;
        public DateTimeOffset? CreatedAt;
        internal static Report Read(Dictionary<string, object> o) => new Report
        {
            Id = J.Str(o, "id"), TicketId = J.Str(o, "ticketId"), CreatedAt = J.Date(o, "createdAt"),
        };
    }

    public sealed class Session
    {
        public string Id;
        public DateTimeOffset? StartedAt;
        /// <summary>Send a heartbeat at least this often, or the player stops counting as online.</summary>
        public int HeartbeatSeconds;
    }

    public sealed class LinkCode
    {
        public string Code;
        public DateTimeOffset? ExpiresAt;
    }

    public sealed class Announcement
    {
        public string Id, Title, Body;
        public DateTimeOffset? PublishedAt, ExpiresAt;
        internal static Announcement Read(Dictionary<string, object> o) => new Announcement
        {
            Id = J.Str(o, "id"), Title = J.Str(o, "title"), Body = J.Str(o, "body"),
            PublishedAt = J.Date(o, "publishedAt"), ExpiresAt = J.Date(o, "expiresAt"),
        };
    }

    public sealed class AnnouncementList
    {
        public List<Announcement> Announcements;
        /// <summary>False when the server answered 304: the list is the one read before.</summary>
        public bool Changed = true;
    }

    public sealed class ModerationStatus
    {
        public string PlayerId, Reason;
        public bool Warned;
        /// <summary>
        /// Banned / muted now, by the server's clock; null from a server older than these fields.
        /// An ended ban or mute stays in BannedUntil / MutedUntil (in the past).
        /// </summary>
        public bool? Banned, Muted;
        public DateTimeOffset? MutedUntil, BannedUntil;
        /// <summary>Banned at <paramref name="now"/>, by BannedUntil.</summary>
        public bool IsBanned(DateTimeOffset now) => BannedUntil.HasValue && BannedUntil.Value > now;
        public bool IsMuted(DateTimeOffset now) => MutedUntil.HasValue && MutedUntil.Value > now;
        /// <summary>Banned now: the server's answer (right even when this clock is off), else BannedUntil against this clock.</summary>
        public bool IsBannedNow => Banned ?? IsBanned(DateTimeOffset.UtcNow);
        public bool IsMutedNow => Muted ?? IsMuted(DateTimeOffset.UtcNow);
    }

    /// <summary>A call kept in the offline queue: sent again later with the same idempotency key.</summary>
    public sealed class QueuedItem
    {
        /// <summary>"ticket", "reply" or "report".</summary>
        public string Kind;
        public string Id, Path, Body;
    }
}
