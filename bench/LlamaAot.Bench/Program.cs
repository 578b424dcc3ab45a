// Runs the kernel suites and writes bench/RESULTS.md: each matrix-vector figure as weight GB/s and as a share of
// the measured single-thread read bandwidth; each matrix-matrix figure as GOPS (2·rows·cols·batch per run).
// `./build.sh bench` runs everything; arguments after `bench` go to BenchmarkDotNet (e.g. --filter '*MatVec*').
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlamaAot.Bench;
using LlamaAot.Kernels.Dispatch;

// The product's probe (src/LlamaAot/Diagnostics/BandwidthProbe.cs), the one `llama-aot bench --bandwidth` runs.
int threads = Environment.ProcessorCount;
double single = LlamaAot.Diagnostics.BandwidthProbe.Measure(1), all = LlamaAot.Diagnostics.BandwidthProbe.Measure(threads);
Console.WriteLine($"read bandwidth: {single:F1} GB/s single thread, {all:F1} GB/s with {threads} threads");

var job = Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(2).WithIterationCount(5)
    .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250));
var config = ManualConfig.CreateMinimumViable().AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
// No arguments: every suite (BenchmarkDotNet would otherwise ask which one on the console).
string[] bdnArgs = args.Length == 0 ? ["--filter", "*"] : args;
var summaries = BenchmarkSwitcher.FromTypes([typeof(MatVecBench), typeof(ReferenceMatVecBench), typeof(MatMatBench), typeof(MatMatMoreTypesBench)]).Run(bdnArgs, config).ToList();

var ci = CultureInfo.InvariantCulture;
var md = new StringBuilder();
md.AppendLine("# Kernel benchmark results");
md.AppendLine();
md.AppendLine(string.Create(ci, $"{DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version} (JIT), best path here: {KernelTable.Name(KernelTable.Best())}."));
md.AppendLine(string.Create(ci, $"Measured read bandwidth: **{single:F1} GB/s** on one thread, {all:F1} GB/s on {threads} threads (1 GiB streaming read)."));
md.AppendLine();
md.AppendLine("All figures single-threaded. Matrix-vector: weight bytes / time. Matrix-matrix (2048×2048): 2·rows·cols·batch / time.");
md.AppendLine();
md.AppendLine("| kernel | type | shape / batch | path | time | weight GB/s | % of 1-thread bandwidth | GOPS | per token vs matvec |");
md.AppendLine("|---|---|---|---|---|---|---|---|---|");
var rows = new List<(string Kind, string Type, string Shape, string Isa, double Seconds, int Batch)>();
foreach (var report in summaries.SelectMany(s => s.Reports))
{
    if (report.ResultStatistics is not { } stats) continue;
    var p = report.BenchmarkCase.Parameters;
    string type = p["Type"].ToString()!;
    string isa = p.Items.Any(i => i.Name == "Isa") ? KernelTable.Name((KernelIsa)p["Isa"]) : "reference";
    string shape = p.Items.Any(i => i.Name == "Shape") ? (string)p["Shape"] : "2048x2048";
    bool matvec = report.BenchmarkCase.Descriptor.WorkloadMethod.Name == "MatVec";
    rows.Add((matvec ? "matvec" : "matmat", type, shape, isa, stats.Mean / 1e9, matvec ? 1 : (int)p["Batch"]));
}
foreach (var r in rows)
{
    var info = LlamaAot.Kernels.Quants.GgmlTypes.Get(Enum.Parse<LlamaAot.Kernels.Quants.GgmlType>(r.Type));
    var dims = r.Shape.Split('x').Select(int.Parse).ToArray();
    double bytes = (double)dims[0] * dims[1] / info.BlockSize * info.TypeSize;
    double gbs = bytes / r.Seconds / 1e9;
    double gops = 2.0 * dims[0] * dims[1] * r.Batch / r.Seconds / 1e9;
    if (r.Kind == "matvec")
    {
        md.AppendLine(string.Create(ci, $"| matvec | {r.Type} | {r.Shape} | {r.Isa} | {r.Seconds * 1e6:F1} µs | {gbs:F1} | {gbs / single * 100:F0}% | {gops:F1} | |"));
    }
    else
    {
        // The yardstick: per-token time of the batch against one matrix-vector product (same type, path, shape).
        var mv = rows.FirstOrDefault(x => x.Kind == "matvec" && x.Type == r.Type && x.Isa == r.Isa && x.Shape == r.Shape);
        string ratio = mv.Seconds > 0 ? string.Create(ci, $"{mv.Seconds / (r.Seconds / r.Batch):F2}×") : "";
        md.AppendLine(string.Create(ci, $"| matmat | {r.Type} | batch {r.Batch} | {r.Isa} | {r.Seconds * 1e6:F1} µs | {gbs:F1} | | {gops:F1} | {ratio} |"));
    }
}
string dir = AppContext.BaseDirectory;
while (!File.Exists(Path.Combine(dir, "LlamaAot.sln"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repo root not found");
File.WriteAllText(Path.Combine(dir, "bench", "RESULTS.md"), md.ToString());
Console.WriteLine(md.ToString());
