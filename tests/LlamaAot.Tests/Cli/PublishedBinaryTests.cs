// The NativeAOT binary itself, as a user runs it: the other tests run the same code JIT-compiled in-process, but
// NativeAOT compiles the kernels separately (its own instruction-set baseline and code generator), so the shipped
// file gets its own golden run under every kernel path, plus the error contract and its dependencies.
// `./build.sh test` publishes first and points LLAMA_AOT_BINARY at the result; without it, artifacts/llama-aot.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlamaAot.Kernels.Dispatch;

namespace LlamaAot.Tests.Cli;

public class PublishedBinaryTests
{
    private static string Binary
    {
        get
        {
            string path = Environment.GetEnvironmentVariable("LLAMA_AOT_BINARY") is { Length: > 0 } env
                ? env
                : Path.Combine(TestPaths.RepoRoot, "artifacts", "llama-aot");
            Assert.True(File.Exists(path), $"no published binary at {path}: run ./build.sh (./build.sh test publishes first)");
            return path;
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(string[] args, string? isa = null, byte[]? stdin = null)
    {
        var (code, stdout, stderr, _) = RunWith(args, isa == null ? [] : [("LLAMA_AOT_ISA", isa)], stdin);
        return (code, stdout, stderr);
    }

    /// <summary>Runs the binary with extra environment variables; also gives its process id.</summary>
    private static (int Code, string Stdout, string Stderr, int Pid) RunWith(string[] args, (string Name, string Value)[] env, byte[]? stdin = null)
    {
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in env) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.BaseStream.Write(stdin ?? []);
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(120_000), "the binary did not finish within 2 minutes");
        return (p.ExitCode, stdout.Result, stderr.Result, p.Id);
    }

    [Fact]
    public void Perf_map_names_the_emitted_kernels()
    {
        // LLAMA_AOT_PERF_MAP=1: each emitted kernel's start, size and emitter call in /tmp/perf-PID.map, the format
        // perf reads (hex address, hex size, name); without it, no file.
        Assert.True(LlamaAot.Kernels.Jit.VnniDecode.CpuSupports, "this test needs the AVX-512 VNNI machine CI runs on");
        var g = Golden.Load("stories260K-Q4_0")[0];
        string[] args = ["-m", TestPaths.Model(g.ModelFile), "-p", g.Prompt, "--temp", "0", "-n", "4", "-t", "1"];
        var (code, _, stderr, pid) = RunWith(args, [("LLAMA_AOT_PERF_MAP", "1")]);
        string map = $"/tmp/perf-{pid}.map";
        try
        {
            Assert.True(code == 0, $"exit {code}: {stderr}");
            var lines = File.ReadAllLines(map);
            var names = new List<string>();
            foreach (string line in lines)
            {
                var fields = line.Split(' ', 3);
                Assert.True(fields.Length == 3, line);
                Assert.True(ulong.Parse(fields[0], NumberStyles.HexNumber) % 4096 == 0, line);   // its own pages
                Assert.InRange(int.Parse(fields[1], NumberStyles.HexNumber), 16, 64 * 1024);
                names.Add(fields[2]);
            }
            Assert.Contains("emitted VnniDecode.EmitQ4_0()", names);
            Assert.Contains("emitted VnniDecode.EmitQ5_K()", names);
            Assert.Contains("emitted VnniTiles.EmitQ4_0(8)", names);
            Assert.Contains("emitted HalfAccumulate.Emit(heads: 4)", names);
            Assert.Equal(names.Count, names.Distinct().Count());
        }
        finally
        {
            File.Delete(map);
        }
        var (plain, _, _, plainPid) = RunWith(args, []);
        Assert.Equal(0, plain);
        Assert.False(File.Exists($"/tmp/perf-{plainPid}.map"));
    }

    /// <summary>Models whose golden ids every path reproduces (the issue-3 set plus the K-quant mix and K types
    /// without a known divergence), first prompt each, under every path the binary can run here.</summary>
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        string[] models = ["stories260K-F16", "stories260K-Q8_0", "stories260K-Q4_0", "synth-mini-Q8_0", "synth-mini-Q4_0",
            "synth-mini-Q5_1", "synth-mini-Q4_K", "synth-mini-Q6_K", "stories260K-Q4_K_M"];
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelTable.IsAvailable))
        {
            foreach (string m in models) data.Add(KernelTable.Name(isa), m);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_ids_match_llama_cpp(string isa, string model)
    {
        var g = Golden.Load(model)[0];
        var (code, stdout, stderr) = Run(["-m", TestPaths.Model(g.ModelFile), "-p", g.Prompt, "--temp", "0", "--ids",
            "-n", g.NPredict.ToString(CultureInfo.InvariantCulture), "-t", "2"], isa);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains($"kernels {isa}", stderr);
        int[] ids = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        Assert.Equal(g.GeneratedIds, ids);
    }

    [Fact]
    public void Pinned_threads_give_the_same_tokens()
    {
        var g = Golden.Load("stories260K-Q4_0")[1];
        var (code, stdout, stderr) = Run(["-m", TestPaths.Model(g.ModelFile), "-p", g.Prompt, "--temp", "0", "--ids",
            "-n", g.NPredict.ToString(CultureInfo.InvariantCulture), "-t", "2", "--affinity"]);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(g.GeneratedIds, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray());
    }

    [Fact]
    public void Bench_peak_rss_leaves_out_the_bandwidth_probe()
    {
        // bench --bandwidth reads a 1 GiB buffer after each tg test; the peak RSS it reports (and the JSON rows) must
        // be the model's run alone. stories260K maps 0.3 MB, so anything near the probe's gigabyte means it counted.
        var (code, stdout, stderr) = Run(["bench", "-m", TestPaths.Model("stories260K-Q8_0.gguf"), "-p", "0", "-n", "3", "-t", "1",
            "-r", "1", "-o", "json", "--bandwidth"]);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        long rowPeak = Assert.Single(doc.RootElement.EnumerateArray()).GetProperty("peak_rss_bytes").GetInt64();
        Assert.True(rowPeak < 512L << 20, $"row peak RSS {rowPeak}");
        var rss = Regex.Match(stderr, @"^peak RSS: ([0-9.]+) MiB$", RegexOptions.Multiline);
        Assert.True(rss.Success, stderr);
        if (OperatingSystem.IsLinux()) Assert.True(double.Parse(rss.Groups[1].Value, CultureInfo.InvariantCulture) < 512, rss.Value);
    }

    [Fact]
    public void Version_names_the_best_path_this_cpu_runs()
    {
        var (code, stdout, _) = Run(["--version"]);
        Assert.Equal(0, code);
        Assert.Contains($"(kernels {KernelTable.Describe(KernelTable.Best())})", stdout);
    }

    [Fact]
    public void A_hostile_file_is_one_error_line_and_exit_2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-bad-{Guid.NewGuid():N}.gguf");
        try
        {
            // A valid header that claims 2^40 tensors: must be refused by validation, not crash the AOT runtime.
            var bytes = new List<byte>(Encoding.ASCII.GetBytes("GGUF"));
            bytes.AddRange(BitConverter.GetBytes(3u));
            bytes.AddRange(BitConverter.GetBytes(1L << 40));
            bytes.AddRange(BitConverter.GetBytes(0L));
            File.WriteAllBytes(path, bytes.ToArray());
            foreach (string[] args in new[] { new[] { "info", path }, ["-m", path, "-p", "hi"] })
            {
                var (code, stdout, stderr) = Run(args);
                Assert.Equal(2, code);
                Assert.Equal("", stdout);
                string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Single(lines);
                Assert.StartsWith("error: ", lines[0]);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_forced_path_the_cpu_lacks_or_an_unknown_one_is_a_clear_error()
    {
        var (code, stdout, stderr) = Run(["--version"], isa: "sse9");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: LLAMA_AOT_ISA", stderr.Trim());
    }

    [Fact]
    public void Generating_with_an_unknown_forced_path_is_a_one_line_user_error()
    {
        // Here rather than in-process: LLAMA_AOT_ISA is process-wide, and setting it in the test process made
        // concurrently running tests that build a model fail (seen once in ~10 full runs).
        var (code, stdout, stderr) = Run(["-m", TestPaths.Model("stories260K-Q8_0.gguf"), "-p", "hi"], isa: "sse9");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains("LLAMA_AOT_ISA", lines[0]);
    }

    [Fact]
    public void Depends_only_on_system_libraries()
    {
        if (!OperatingSystem.IsLinux()) return;
        var psi = new ProcessStartInfo("ldd", Binary) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        string[] libs = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')[0]).ToArray();
        Assert.NotEmpty(libs);
        foreach (string lib in libs)
        {
            Assert.True(lib.StartsWith("linux-vdso", StringComparison.Ordinal) || lib.StartsWith("libc.so", StringComparison.Ordinal)
                || lib.StartsWith("libm.so", StringComparison.Ordinal) || lib.Contains("ld-linux", StringComparison.Ordinal),
                $"unexpected dependency {lib}");
        }
    }
}
