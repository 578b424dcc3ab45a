// `llama-aot bench -m MODEL [-p 512] [-n 128] [-t N[,N…]] [-r 5] [-o md|json]`: llama-bench's pp/tg tests.
// pp: one prompt of p tokens from an empty cache; tg: n single-token steps from an empty cache. Timing covers
// only the forward passes (no load, tokenization or sampling); mean ± sd over r runs after one warm-up. Each tg line
// on stderr also gives the weight bytes a token reads times t/s; --bandwidth then measures the machine's streaming read
// with the same thread count right after it (Diagnostics/BandwidthProbe.cs) and gives the tg as a share of it: the
// yardstick decode speed is held to.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlamaAot.Inference;
using LlamaAot.Model;

namespace LlamaAot.Cli;

internal static class BenchCommand
{
    public const string Help = """
        usage: llama-aot bench -m MODEL [-p 512] [-n 128] [-t N[,N...]] [-r 5] [-b 512] [--affinity] [--bandwidth] [-o md|json]
          -p N    prompt-processing test of N tokens (0 = skip)
          -n N    text-generation test of N tokens (0 = skip)
          -t LIST thread counts, comma separated (default: physical cores)
          -r N    repetitions (default 5)
          -b N    prompt batch size (default 512)
          --affinity  pin each thread to its own physical core (Linux)
          --bandwidth measure memory read bandwidth after each tg test and give the tg as a share of it
          -o FMT  md (default) or json

        """;

    private sealed record Row(string Model, double SizeGiB, double ParamsB, string Type, int Threads, string Isa, string Test, double Mean, double Sd, long PeakRssBytes)
    {
        /// <summary>tg rows: weight bytes read per second (bytes a token reads × mean t/s); 0 for pp.</summary>
        public double WeightGBs { get; init; }

        /// <summary>With --bandwidth: the streaming read measured with this row's thread count, GB/s.</summary>
        public double BandwidthGBs { get; set; }
    }

    public static int Run(string[] args, CliContext ctx)
    {
        string? model = null, format = "md";
        int pp = 512, tg = 128, reps = 5, batch = 512;
        bool affinity = false, bandwidth = false;
        int[] threads = [Scheduler.WorkerPool.DefaultThreadCount()];
        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "-m" or "--model": model = r.Value(flag); break;
                case "-p" or "--n-prompt": pp = r.Int(flag, 0, 1 << 16); break;
                case "-n" or "--n-gen": tg = r.Int(flag, 0, 1 << 16); break;
                case "-r" or "--repetitions": reps = r.Int(flag, 1, 1000); break;
                case "-b" or "--batch-size": batch = r.Int(flag, 1, 1 << 16); break;
                case "-t" or "--threads": threads = ParseList(flag, r.Value(flag)); break;
                case "--affinity": affinity = true; break;
                case "--bandwidth": bandwidth = true; break;
                case "-o" or "--output":
                    format = r.Value(flag);
                    if (format is not ("md" or "json")) throw new UsageException($"flag {flag}: '{format}' is not md or json");
                    break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                default: throw ArgReader.Unknown(flag, "bench");
            }
        }
        if (model is null) throw new UsageException("bench needs -m MODEL");
        if (pp == 0 && tg == 0) throw new UsageException("nothing to measure: both -p and -n are 0");

        var rows = new List<Row>();
        long peakRss = 0;   // the largest VmHWM seen before a bandwidth probe reset it
        foreach (int t in threads)
        {
            using var loaded = LoadedModel.Load(model, new ModelOptions
            {
                ContextSize = Math.Max(pp + tg, 16), BatchSize = Math.Min(batch, Math.Max(pp, 1)), Threads = t,
                Affinity = affinity,
            });
            ctx.Stderr.WriteLine(loaded.Banner() + $", {loaded.Model.Threads} threads");
            var m = loaded.Model;
            long bytes = 0, n = 0;
            foreach (var ti in loaded.File.Tensors)
            {
                bytes += ti.ByteSize;
                n += ti.ElementCount;
            }
            string type = FileTypeName(loaded);
            var rng = new Random(42);
            int[] tokens = new int[Math.Max(pp, tg)];
            for (int i = 0; i < tokens.Length; i++) tokens[i] = rng.Next(m.Config.VocabSize);

            long perToken = m.Weights.BytesPerToken;
            void Add(string test, Func<double> run, int count, bool decode)
            {
                run();   // warm-up: page in the weights, settle the threads
                var rates = new double[reps];
                for (int i = 0; i < reps; i++) rates[i] = count / run();
                double mean = rates.Average();
                double sd = reps > 1 ? Math.Sqrt(rates.Sum(x => (x - mean) * (x - mean)) / (reps - 1)) : 0;
                var row = new Row(Path.GetFileName(model), bytes / 1073741824.0, n / 1e9, type, m.Threads,
                    Kernels.Dispatch.KernelTable.Describe(m.Isa), test, mean, sd, PeakRss()) { WeightGBs = decode ? perToken * mean / 1e9 : 0 };
                rows.Add(row);
                string reads = decode ? string.Create(CultureInfo.InvariantCulture, $" ({row.WeightGBs:F1} GB/s of weights, {perToken / 1e6:F0} MB a token)") : "";
                ctx.Stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {test}: {mean:F2} ± {sd:F2} t/s{reads}"));
                if (decode && bandwidth)
                {
                    peakRss = Math.Max(peakRss, PeakRss());
                    MeasureBandwidth(ctx, row);
                }
            }

            if (pp > 0) Add($"pp{pp}", () => Time(() => m.Evaluate(tokens.AsSpan(0, pp), 0)), pp, decode: false);
            if (tg > 0)
            {
                Add($"tg{tg}", () => Time(() =>
                {
                    for (int i = 0; i < tg; i++) m.Evaluate(tokens.AsSpan(i, 1), i);
                }), tg, decode: true);
            }
        }

        ctx.Stderr.WriteLine($"peak RSS: {Math.Max(peakRss, PeakRss()) / 1048576.0:F1} MiB");
        if (format == "json") WriteJson(ctx, rows);
        else WriteMarkdown(ctx.Stdout, rows);
        return CliApp.ExitOk;
    }

    /// <summary>The streaming read with the row's thread count, run right after its tg test (the VM's bandwidth moves
    /// with its neighbours, so the yardstick is taken as close to the test as it can be), and the row's share of it.
    /// The probe's gigabyte then leaves the peak RSS (clear_refs 5 resets VmHWM), so it is not counted as ours.</summary>
    private static void MeasureBandwidth(CliContext ctx, Row r)
    {
        var ci = CultureInfo.InvariantCulture;
        r.BandwidthGBs = Diagnostics.BandwidthProbe.Measure(r.Threads);
        ctx.Stderr.WriteLine(string.Create(ci,
            $"  read bandwidth, {r.Threads} thread{(r.Threads == 1 ? "" : "s")} (1 GiB streaming read): {r.BandwidthGBs:F1} GB/s; {r.Test} reads {100 * r.WeightGBs / r.BandwidthGBs:F0}% of it"));
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalSeconds;
    }

    private static int[] ParseList(string flag, string v)
    {
        var parts = v.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var list = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out list[i]) || list[i] < 1 || list[i] > 1024)
            {
                throw new UsageException($"flag {flag}: '{parts[i]}' is not a thread count");
            }
        }
        return list.Length > 0 ? list : throw new UsageException($"flag {flag} needs at least one thread count");
    }

    /// <summary>The quantize target general.file_type names (Q4_K_M …) when it is one we know, else the type holding
    /// most of the bytes.</summary>
    private static string FileTypeName(LoadedModel m)
    {
        if (m.File.Metadata.TryGetValue("general.file_type", out var v) && v.Type == Gguf.GgufValueType.UInt32)
        {
            var ft = (Tools.LlamaFileType)m.File.Metadata.GetUInt32("general.file_type");
            if (ft == Tools.LlamaFileType.AllF32) return "F32";
            foreach (var t in Tools.Quantizer.Targets)
            {
                if (t.FileType == ft) return t.Name;
            }
        }
        return m.File.Tensors.GroupBy(t => t.TypeName).OrderByDescending(g => g.Sum(t => t.ByteSize)).First().Key;
    }

    /// <summary>Peak resident set size (VmHWM) of this process; 0 where /proc is not available.</summary>
    public static long PeakRss()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }

    private static void WriteMarkdown(TextWriter o, List<Row> rows)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine("| model | size | params | type | path | threads | test | t/s |");
        o.WriteLine("| --- | ---: | ---: | --- | --- | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            o.WriteLine(string.Create(ci, $"| {r.Model} | {r.SizeGiB * 1024:F2} MiB | {r.ParamsB:F2} B | {r.Type} | {r.Isa} | {r.Threads} | {r.Test} | {r.Mean:F2} ± {r.Sd:F2} |"));
        }
    }

    private static void WriteJson(CliContext ctx, List<Row> rows)
    {
        ctx.Stdout.Flush();
        using (var w = new Utf8JsonWriter(ctx.StdoutStream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("model", r.Model);
                w.WriteNumber("size_bytes", (long)(r.SizeGiB * 1073741824.0));
                w.WriteNumber("params", (long)(r.ParamsB * 1e9));
                w.WriteString("type", r.Type);
                w.WriteString("path", r.Isa);
                w.WriteNumber("threads", r.Threads);
                w.WriteString("test", r.Test);
                w.WriteNumber("avg_ts", r.Mean);
                w.WriteNumber("stddev_ts", r.Sd);
                w.WriteNumber("peak_rss_bytes", r.PeakRssBytes);
                if (r.WeightGBs > 0) w.WriteNumber("weights_gbs", r.WeightGBs);
                if (r.BandwidthGBs > 0) w.WriteNumber("bandwidth_gbs", r.BandwidthGBs);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        ctx.StdoutStream.WriteByte((byte)'\n');
    }
}
