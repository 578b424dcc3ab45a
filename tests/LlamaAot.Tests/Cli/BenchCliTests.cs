// `llama-aot bench` in-process on stories260K: the llama-bench table and JSON (one row per thread count and test,
// nothing else on stdout), the weight bytes a decode step reads (checked against the file's own tensor list), the
// --bandwidth yardstick, the streaming probe's sum, and the error contract (exit 2, one `error: ` line).
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlamaAot.Cli;
using LlamaAot.Diagnostics;
using LlamaAot.Gguf;
using Xunit;

namespace LlamaAot.Tests.Cli;

public sealed partial class BenchCliTests
{
    private static readonly string ModelPath = TestPaths.Model("stories260K-Q8_0.gguf");

    private static CliResult Run(params string[] args) => CliRunner.Run(args);

    /// <summary>The matrices a decode step multiplies, from the GGUF's tensor names: each layer's seven and the
    /// output matrix (the token embedding when there is no output.weight).</summary>
    private static long DecodeBytes(string path)
    {
        using var f = GgufFile.Open(path);
        string[] roles = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];
        long bytes = f.Tensors.Where(t => t.Name.StartsWith("blk.", StringComparison.Ordinal) && roles.Any(r => t.Name.EndsWith($".{r}.weight", StringComparison.Ordinal)))
            .Sum(t => t.ByteSize);
        var output = f.Tensors.FirstOrDefault(t => t.Name == "output.weight") ?? f.Tensors.Single(t => t.Name == "token_embd.weight");
        return bytes + output.ByteSize;
    }

    [GeneratedRegex(@"^  tg(\d+): ([0-9.]+) ± [0-9.]+ t/s \(([0-9.]+) GB/s of weights, (\d+) MB a token\)$", RegexOptions.Multiline)]
    private static partial Regex TgLine();

    [Fact]
    public void Markdown_has_a_row_per_thread_count_and_test_and_tg_gives_the_weights_read()
    {
        var r = Run("bench", "-m", ModelPath, "-p", "8", "-n", "4", "-t", "1,2", "-r", "2");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        string[] lines = r.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(6, lines.Length);
        Assert.StartsWith("| model | size | params | type | path | threads | test | t/s |", lines[0], StringComparison.Ordinal);
        string[] expected = ["| 1 | pp8 |", "| 1 | tg4 |", "| 2 | pp8 |", "| 2 | tg4 |"];
        for (int i = 0; i < 4; i++)
        {
            Assert.StartsWith("| stories260K-Q8_0.gguf | ", lines[2 + i], StringComparison.Ordinal);
            Assert.Contains(" | Q8_0 | ", lines[2 + i], StringComparison.Ordinal);
            Assert.Contains(expected[i], lines[2 + i], StringComparison.Ordinal);
        }

        long bytes = DecodeBytes(ModelPath);
        var tg = TgLine().Matches(r.Stderr);
        Assert.Equal(2, tg.Count);
        foreach (Match m in tg)
        {
            double ts = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            double gbs = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            Assert.Equal(Math.Round(bytes / 1e6), double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));
            Assert.InRange(gbs, bytes * ts / 1e9 - 0.06, bytes * ts / 1e9 + 0.06);   // both printed rounded
        }
        Assert.DoesNotContain("read bandwidth", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_with_bandwidth_gives_each_tg_its_share_of_the_measured_read()
    {
        var r = Run("bench", "-m", ModelPath, "-p", "0", "-n", "3", "-t", "1", "-r", "1", "-o", "json", "--bandwidth");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        using var doc = JsonDocument.Parse(r.Stdout);
        var row = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("tg3", row.GetProperty("test").GetString());
        Assert.Equal(1, row.GetProperty("threads").GetInt32());
        double ts = row.GetProperty("avg_ts").GetDouble(), weights = row.GetProperty("weights_gbs").GetDouble();
        Assert.Equal(DecodeBytes(ModelPath) * ts / 1e9, weights, 1e-9);
        double bandwidth = row.GetProperty("bandwidth_gbs").GetDouble();
        Assert.True(bandwidth > 0.1 && double.IsFinite(bandwidth), $"bandwidth {bandwidth}");
        // Right after the tg line.
        var share = Regex.Match(r.Stderr, @"^  tg3: .* t/s \(.*\)\n  read bandwidth, 1 thread \(1 GiB streaming read\): ([0-9.]+) GB/s; tg3 reads (\d+)% of it$", RegexOptions.Multiline);
        Assert.True(share.Success, r.Stderr);
        Assert.Equal(Math.Round(bandwidth, 1), double.Parse(share.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Equal(Math.Round(100 * weights / bandwidth), double.Parse(share.Groups[2].Value, CultureInfo.InvariantCulture));
        // The peak RSS line is there; that it leaves out the probe's gigabyte is checked on the published binary
        // (PublishedBinaryTests), in a process of its own: in here the peak is this test host's, whatever the tests
        // running beside this one hold (up to 1.2 GB), so a bound here depends on them.
        Assert.Matches(new Regex(@"^peak RSS: [0-9.]+ MiB$", RegexOptions.Multiline), r.Stderr);
        Assert.True(row.GetProperty("peak_rss_bytes").GetInt64() > 0);
    }

    [Theory]
    [InlineData("needs -m MODEL", "bench", "-n", "2")]
    [InlineData("nothing to measure", "bench", "-m", "MODEL", "-p", "0", "-n", "0")]
    [InlineData("is not a thread count", "bench", "-m", "MODEL", "-t", "2,0")]
    [InlineData("is not a thread count", "bench", "-m", "MODEL", "-t", "two")]
    [InlineData("is not md or json", "bench", "-m", "MODEL", "-o", "xml")]
    [InlineData("--bandwith", "bench", "-m", "MODEL", "--bandwith")]
    [InlineData("no-such-model.gguf", "bench", "-m", "no-such-model.gguf", "-n", "2")]
    public void Bad_arguments_give_one_error_line_and_exit_2(string message, params string[] args)
    {
        CliRunner.AssertUserError(Run(args.Select(a => a == "MODEL" ? ModelPath : a).ToArray()), message);
    }

    [Fact]
    public unsafe void Probe_reads_every_byte_and_measures_a_rate()
    {
        const int Bytes = 1 << 16;
        var buffer = new ulong[Bytes / 8];
        var rng = new Random(5);
        ulong expected = 0;
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (ulong)rng.NextInt64();
            expected += buffer[i];
        }
        fixed (ulong* p = buffer)
        {
            Assert.Equal(expected, BandwidthProbe.Read((byte*)p, Bytes));
            ulong lastStep = 0;   // the final 256 bytes, which a read of Bytes − 256 leaves out
            for (int i = buffer.Length - 32; i < buffer.Length; i++) lastStep += buffer[i];
            Assert.Equal(expected - lastStep, BandwidthProbe.Read((byte*)p, Bytes - 256));
        }
        double gbs = BandwidthProbe.Measure(2, 32L << 20);
        Assert.True(gbs > 0.1 && double.IsFinite(gbs), $"{gbs} GB/s");
        Assert.Throws<ArgumentOutOfRangeException>(() => BandwidthProbe.Measure(0));
    }
}
