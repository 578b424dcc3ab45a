// BenchmarkDotNet suites: every matrix kernel × every path this machine runs, at the shapes of a 1B-class model.
// Single thread: the per-core throughput the scheduler multiplies.
using BenchmarkDotNet.Attributes;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Bench;

public static class Paths
{
    public static IEnumerable<KernelIsa> Available() => Enum.GetValues<KernelIsa>().Where(KernelTable.IsAvailable);
}

/// <summary>Matrix-vector (decode): one activation row against the whole matrix.</summary>
public unsafe class MatVecBench
{
    private BenchMatrix _m = null!;
    private MatMulArgs _args;
    private delegate*<MatMulArgs*, int, int, void> _gemm;

    [ParamsSource(nameof(Types))] public GgmlType Type { get; set; }
    [Params("2048x2048", "5632x2048", "2048x5632", "32000x2048")] public string Shape { get; set; } = "";
    [ParamsSource(nameof(Isas))] public KernelIsa Isa { get; set; }

    public static IEnumerable<GgmlType> Types() => [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16];
    public static IEnumerable<KernelIsa> Isas() => Paths.Available();

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        var k = KernelTable.For(Isa);
        _m = new BenchMatrix(Type, int.Parse(parts[0]), int.Parse(parts[1]), 1, k);
        _args = Args(_m, k);
        _gemm = k[Type].GemmFor(_m.Rows);
    }

    internal static MatMulArgs Args(BenchMatrix m, KernelTable k) => new()
    {
        W = m.W, RowBytes = m.RowBytes, Rows = m.Rows, Cols = m.Cols, Act = m.Act, ActRowBytes = m.ActRowBytes,
        Batch = m.Batch, Y = m.Y, YStride = m.Rows, Dot = k[m.Type].DotFor(m.Rows),
    };

    [Benchmark]
    public void MatVec()
    {
        fixed (MatMulArgs* a = &_args) _gemm(a, 0, _m.Rows);
    }

    [GlobalCleanup]
    public void Cleanup() => _m.Dispose();
}

/// <summary>Matrix-matrix (prompt batches) on a 2048×2048 matrix.</summary>
public unsafe class MatMatBench
{
    private BenchMatrix _m = null!;
    private MatMulArgs _args;
    private delegate*<MatMulArgs*, int, int, void> _gemm;

    [ParamsSource(nameof(Types))] public GgmlType Type { get; set; }
    [Params(8, 32, 128, 512)] public int Batch { get; set; }
    [ParamsSource(nameof(Isas))] public KernelIsa Isa { get; set; }

    public static IEnumerable<GgmlType> Types() => [GgmlType.Q4_0, GgmlType.Q8_0];
    public static IEnumerable<KernelIsa> Isas() => Paths.Available();

    [GlobalSetup]
    public void Setup()
    {
        var k = KernelTable.For(Isa);
        _m = new BenchMatrix(Type, 2048, 2048, Batch, k);
        _args = MatVecBench.Args(_m, k);
        _gemm = k[Type].GemmFor(_m.Rows);
    }

    [Benchmark]
    public void MatMat()
    {
        fixed (MatMulArgs* a = &_args) _gemm(a, 0, _m.Rows);
    }

    [GlobalCleanup]
    public void Cleanup() => _m.Dispose();
}
