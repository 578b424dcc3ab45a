// `llama-aot info MODEL [--json] [--hash]`: a gguf-dump-like view of a file — version, metadata (long arrays
// summarised), tensor table, parameter count and size; --hash adds each tensor's XXH64.
using System.Globalization;
using System.Text;
using System.Text.Json;
using LlamaAot.Gguf;
using LlamaAot.Hashing;

namespace LlamaAot.Cli;

internal static class InfoCommand
{
    private const int ArrayPreview = 8;
    private const int StringPreview = 80;

    public const string Help = """
        usage: llama-aot info MODEL [--json] [--hash]
          --json   machine-readable output
          --hash   add the XXH64 (seed 0) of each tensor's bytes

        """;

    public static int Run(string[] args, CliContext ctx)
    {
        bool json = false, hash = false;
        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "--json": json = true; break;
                case "--hash": hash = true; break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                case "-m" or "--model": r.Positionals.Add(r.Value(flag)); break;
                default: throw ArgReader.Unknown(flag, "info");
            }
        }
        if (r.Positionals.Count != 1) throw new UsageException("info needs exactly one MODEL path (see info --help)");

        using var file = GgufFile.Open(r.Positionals[0]);
        if (json) WriteJson(file, hash, ctx.StdoutStream, ctx.Stdout);
        else WriteText(file, hash, ctx.Stdout);
        return CliApp.ExitOk;
    }

    private static unsafe ulong HashOf(GgufFile file, GgufTensorInfo t)
    {
        var h = new XxHash64();
        byte* p = file.GetDataPointer(t);
        for (long left = t.ByteSize; left > 0;)
        {
            int n = (int)Math.Min(left, 1 << 30);
            h.Append(new ReadOnlySpan<byte>(p, n));
            p += n;
            left -= n;
        }
        return h.GetCurrentHashAsUInt64();
    }

    private static (long Params, long Bytes) Totals(GgufFile file)
    {
        long n = 0, bytes = 0;
        foreach (var t in file.Tensors)
        {
            n += t.ElementCount;
            bytes += t.ByteSize;
        }
        return (n, bytes);
    }

    private static void WriteText(GgufFile file, bool hash, TextWriter o)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine($"GGUF v{file.Version}: {file.Path}");
        o.WriteLine($"file size {file.FileLength} bytes, alignment {file.Alignment}, data section at offset {file.DataOffset}");
        o.WriteLine();
        o.WriteLine($"metadata: {file.Metadata.Count} keys");
        int i = 0;
        foreach (var (key, value) in file.Metadata.Entries)
        {
            o.WriteLine(string.Create(ci, $"{++i,5}: {TypeText(value),-14} {key} = {ValueText(value)}"));
        }
        o.WriteLine();
        o.WriteLine($"tensors: {file.Tensors.Count}");
        i = 0;
        foreach (var t in file.Tensors)
        {
            string h = hash ? $"  xxh64 {HashOf(file, t):x16}" : "";
            o.WriteLine(string.Create(ci, $"{++i,5}: {t.Name,-32} {t.TypeName,-8} {t.ShapeText,-24} {t.ByteSize,12} bytes{h}"));
        }
        var (n, bytes) = Totals(file);
        o.WriteLine();
        double bpw = n > 0 ? bytes * 8.0 / n : 0;
        o.WriteLine(string.Create(ci, $"parameters: {n} ({n / 1e6:F3} M), tensor data: {bytes} bytes ({bytes / 1048576.0:F2} MiB), {bpw:F2} bits per weight"));
    }

    private static string TypeText(GgufValue v) => v.Value is GgufArray a
        ? $"arr[{GgufValueTypes.Name(a.ElementType)},{a.Count}]"
        : GgufValueTypes.Name(v.Type);

    private static string ValueText(GgufValue v)
    {
        switch (v.Value)
        {
            case string s: return Quote(s);
            case GgufArray a:
                var sb = new StringBuilder("[");
                int shown = Math.Min(a.Count, ArrayPreview);
                for (int k = 0; k < shown; k++)
                {
                    if (k > 0) sb.Append(", ");
                    object item = a.Items.GetValue(k)!;
                    sb.Append(item is GgufArray inner ? $"arr[{GgufValueTypes.Name(inner.ElementType)},{inner.Count}]" : ValueText(new GgufValue(a.ElementType, item)));
                }
                if (a.Count > shown) sb.Append(CultureInfo.InvariantCulture, $", ... ({a.Count - shown} more)");
                return sb.Append(']').ToString();
            default: return v.ToString();
        }
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char ch in s.Length > StringPreview ? s[..StringPreview] : s)
        {
            sb.Append(ch switch
            {
                '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '"' => "\\\"", '\\' => "\\\\",
                _ when char.IsControl(ch) => $"\\u{(int)ch:x4}",
                _ => ch.ToString(),
            });
        }
        if (s.Length > StringPreview) sb.Append("...");
        return sb.Append('"').ToString();
    }

    private static void WriteJson(GgufFile file, bool hash, Stream stdout, TextWriter textOut)
    {
        textOut.Flush();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            var (n, bytes) = Totals(file);
            w.WriteStartObject();
            w.WriteString("file", file.Path);
            w.WriteNumber("version", file.Version);
            w.WriteNumber("file_size", file.FileLength);
            w.WriteNumber("alignment", file.Alignment);
            w.WriteNumber("data_offset", file.DataOffset);
            w.WriteNumber("parameters", n);
            w.WriteNumber("tensor_bytes", bytes);
            w.WriteStartObject("metadata");
            foreach (var (key, value) in file.Metadata.Entries)
            {
                w.WritePropertyName(key);
                WriteJsonValue(w, value.Type, value.Value, summarise: true);
            }
            w.WriteEndObject();
            w.WriteStartArray("tensors");
            foreach (var t in file.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("type", t.TypeName);
                w.WriteStartArray("shape");
                foreach (long d in t.Dims) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("offset", t.Offset);
                w.WriteNumber("bytes", t.ByteSize);
                if (hash) w.WriteString("xxh64", HashOf(file, t).ToString("x16", CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
        stdout.Flush();
    }

    private static void WriteJsonValue(Utf8JsonWriter w, GgufValueType type, object value, bool summarise)
    {
        switch (value)
        {
            case GgufArray a:
                w.WriteStartObject();
                w.WriteString("type", "arr");
                w.WriteString("element_type", GgufValueTypes.Name(a.ElementType));
                w.WriteNumber("length", a.Count);
                w.WriteStartArray(summarise && a.Count > ArrayPreview ? "first" : "items");
                int shown = summarise ? Math.Min(a.Count, ArrayPreview) : a.Count;
                for (int k = 0; k < shown; k++) WriteJsonValue(w, a.ElementType, a.Items.GetValue(k)!, summarise);
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float or double: w.WriteStringValue(new GgufValue(type, value).ToString()); break;
            case ulong ul: w.WriteNumberValue(ul); break;
            default:
                new GgufValue(type, value).TryGetInteger(out long n);
                w.WriteNumberValue(n);
                break;
        }
    }
}
