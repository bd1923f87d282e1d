using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace GameMod
{
    /// <summary>
    /// A small JSON reader and writer (RFC 8259), vendored so the SDK needs no package and
    /// behaves the same under Unity's IL2CPP stripping as under .NET. Objects read as
    /// <c>Dictionary&lt;string, object&gt;</c>, arrays as <c>List&lt;object&gt;</c>, numbers as
    /// <c>double</c>, and null as <c>null</c>.
    /// </summary>
    public static class Json
    {
        public static string Serialize(object value)
        {
            var sb = new StringBuilder();
            Write(sb, value, 0);
            return sb.ToString();
        }

        static void Write(StringBuilder sb, object v, int depth)
        {
            if (depth > 64) throw new ArgumentException("JSON nesting too deep (a cycle?)");
            // An if-chain, not a switch on types: mono's mcs has no type patterns in switch.
            if (v == null) sb.Append("null");
            else if (v is string s) WriteString(sb, s);
            else if (v is bool b) sb.Append(b ? "true" : "false");
            else if (v is double d) WriteNumber(sb, d);
            else if (v is float f) WriteNumber(sb, f);
            else if (v is decimal m) sb.Append(m.ToString(CultureInfo.InvariantCulture));
            else if (v is int || v is long || v is short || v is byte || v is uint || v is ulong || v is sbyte || v is ushort)
                sb.Append(Convert.ToString(v, CultureInfo.InvariantCulture));
            else if (v is DateTimeOffset dto) WriteString(sb, dto.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            else if (v is DateTime dt) WriteString(sb, dt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            else if (v is IJsonWritable w) Write(sb, w.ToJson(), depth + 1);
            else if (v is IDictionary dict)
            {
                sb.Append('{');
                var first = true;
                foreach (DictionaryEntry e in dict)
                {
                    if (e.Value == null) continue; // absent, not null: optional fields stay out
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, Convert.ToString(e.Key, CultureInfo.InvariantCulture));
                    sb.Append(':');
                    Write(sb, e.Value, depth + 1);
                }
                sb.Append('}');
            }
            else if (v is IEnumerable list)
            {
                sb.Append('[');
                var first = true;
                foreach (var item in list)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, item, depth + 1);
                }
                sb.Append(']');
            }
            else throw new ArgumentException("cannot write " + v.GetType().Name + " as JSON");
        }

        static void WriteNumber(StringBuilder sb, double d)
        {
            if (double.IsNaN(d) || double.IsInfinity(d)) throw new ArgumentException("JSON has no NaN or infinity");
            sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        /// <summary>Parses JSON text; throws <see cref="FormatException"/> naming the position.</summary>
        public static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            var p = new Parser(text);
            var v = p.Value(0);
            p.SkipSpace();
            if (p.Pos != text.Length) throw p.Fail("trailing text");
            return v;
        }

        sealed class Parser
        {
            readonly string s;
            public int Pos;
            public Parser(string text) { s = text; }

            public FormatException Fail(string what) => new FormatException("JSON: " + what + " at character " + (Pos + 1));

            public void SkipSpace()
            {
                while (Pos < s.Length && (s[Pos] == ' ' || s[Pos] == '\n' || s[Pos] == '\r' || s[Pos] == '\t')) Pos++;
            }

            char Peek() => Pos < s.Length ? s[Pos] : '\0';

            bool Literal(string word)
            {
                if (string.CompareOrdinal(s, Pos, word, 0, word.Length) != 0) return false;
                Pos += word.Length;
                return true;
            }

            public object Value(int depth)
            {
                if (depth > 128) throw Fail("nesting too deep");
                SkipSpace();
                var c = Peek();
                if (c == '{') return Obj(depth);
                if (c == '[') return Arr(depth);
                if (c == '"') return Str();
                if (Literal("true")) return true;
                if (Literal("false")) return false;
                if (Literal("null")) return null;
                return Num();
            }

            Dictionary<string, object> Obj(int depth)
            {
                var o = new Dictionary<string, object>();
                Pos++;
                SkipSpace();
                if (Peek() == '}') { Pos++; return o; }
                while (true)
                {
                    SkipSpace();
                    if (Peek() != '"') throw Fail("expected a key");
                    var k = Str();
                    SkipSpace();
                    if (Peek() != ':') throw Fail("expected ':'");
                    Pos++;
                    o[k] = Value(depth + 1);
                    SkipSpace();
                    var d = Peek();
                    Pos++;
                    if (d == '}') return o;
                    if (d != ',') { Pos--; throw Fail("expected ',' or '}'"); }
                }
            }

            List<object> Arr(int depth)
            {
                var a = new List<object>();
                Pos++;
                SkipSpace();
                if (Peek() == ']') { Pos++; return a; }
                while (true)
                {
                    a.Add(Value(depth + 1));
                    SkipSpace();
                    var d = Peek();
                    Pos++;
                    if (d == ']') return a;
                    if (d != ',') { Pos--; throw Fail("expected ',' or ']'"); }
                }
            }

            string Str()
            {
                var sb = new StringBuilder();
                Pos++;
                while (true)
                {
                    if (Pos >= s.Length) throw Fail("unterminated string");
                    var c = s[Pos++];
                    if (c == '"') return sb.ToString();
                    if (c < 0x20) throw Fail("control character in string");
                    if (c != '\\') { sb.Append(c); continue; }
                    if (Pos >= s.Length) throw Fail("unterminated string");
                    var e = s[Pos++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            if (Pos + 4 > s.Length) throw Fail("bad \\u escape");
                            int code;
                            if (!int.TryParse(s.Substring(Pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out code))
                                throw Fail("bad \\u escape");
                            sb.Append((char)code); // surrogate pairs arrive as two escapes, which .NET strings hold as is
                            Pos += 4;
                            break;
                        default: throw Fail("bad escape");
                    }
                }
            }

            double Num()
            {
                var start = Pos;
                if (Peek() == '-') Pos++;
                while (Pos < s.Length && "0123456789.eE+-".IndexOf(s[Pos]) >= 0) Pos++;
                double d;
                if (Pos == start || !double.TryParse(s.Substring(start, Pos - start), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                {
                    Pos = start;
                    throw Fail("unexpected character");
                }
                return d;
            }
        }
    }

    /// <summary>A model that turns itself into plain JSON values (dictionaries, lists, scalars).</summary>
    public interface IJsonWritable
    {
        object ToJson();
    }
}
