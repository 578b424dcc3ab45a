// BenchmarkDotNet suites: every matrix kernel × every path this machine runs, at the shapes of a 1B-class model.
// Single thread: the per-core throughput the scheduler multiplies. The scalar Reference (the spec, not a speed
// path) runs at 2048×2048 only: at 0.2 GB/s the large shapes would take most of the run.
using BenchmarkDotNet.Attributes;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Bench;

public static class Paths
{
    public static IEnumerable<KernelIsa> Simd() => Enum.GetValues<KernelIsa>().Where(i => i != KernelIsa.Reference && KernelTable.IsAvailable(i));

    /// <summary>Every weight type the runtime multiplies.</summary>
    public static IEnumerable<GgmlType> WeightTypes() =>
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];
}

/// <summary>One product over the whole matrix through the kernel table's row-range entry point (what a thread of
/// the scheduler runs), for a type, shape, batch and path.</summary>
public abstract unsafe class ProductBench
{
    private BenchMatrix _m = null!;
    private MatMulArgs _args;
    private delegate*<MatMulArgs*, int, int, void> _gemm;

    protected void Init(GgmlType type, int rows, int cols, int batch, KernelIsa isa)
    {
        var k = KernelTable.For(isa);
        _m = new BenchMatrix(type, rows, cols, batch, k);
        _args = new MatMulArgs
        {
            W = _m.W, RowBytes = _m.RowBytes, Rows = _m.Rows, Cols = _m.Cols, Act = _m.Act, ActRowBytes = _m.ActRowBytes,
            Batch = _m.Batch, Y = _m.Y, YStride = _m.Rows, Dot = k[type].DotFor(_m.Rows),
        };
        _gemm = k[type].GemmFor(_m.Rows);
    }

    protected void Run()
    {
        fixed (MatMulArgs* a = &_args) _gemm(a, 0, _m.Rows);
    }

    [GlobalCleanup]
    public void Cleanup() => _m.Dispose();
}

/// <summary>Matrix-vector (decode): one activation row against the whole matrix.</summary>
public class MatVecBench : ProductBench
{
    [ParamsSource(nameof(Types))] public GgmlType Type { get; set; }
    [Params("2048x2048", "5632x2048", "2048x5632", "32000x2048")] public string Shape { get; set; } = "";
    [ParamsSource(nameof(Isas))] public KernelIsa Isa { get; set; }

    public static IEnumerable<GgmlType> Types() => Paths.WeightTypes();
    public static IEnumerable<KernelIsa> Isas() => Paths.Simd();

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        Init(Type, int.Parse(parts[0]), int.Parse(parts[1]), 1, Isa);
    }

    [Benchmark]
    public void MatVec() => Run();
}

/// <summary>The scalar Reference's matrix-vector product at 2048×2048, the baseline the SIMD paths are read against.</summary>
public class ReferenceMatVecBench : ProductBench
{
    [ParamsSource(nameof(Types))] public GgmlType Type { get; set; }

    public static IEnumerable<GgmlType> Types() => Paths.WeightTypes();

    [GlobalSetup]
    public void Setup() => Init(Type, 2048, 2048, 1, KernelIsa.Reference);

    [Benchmark]
    public void MatVec() => Run();
}

/// <summary>Matrix-matrix (prompt batches) on a 2048×2048 matrix.</summary>
public class MatMatBench : ProductBench
{
    [ParamsSource(nameof(Types))] public GgmlType Type { get; set; }
    [Params(8, 32, 128, 512)] public int Batch { get; set; }
    [ParamsSource(nameof(Isas))] public KernelIsa Isa { get; set; }

    public static IEnumerable<GgmlType> Types() => [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
    public static IEnumerable<KernelIsa> Isas() => Paths.Simd();

    [GlobalSetup]
    public void Setup() => Init(Type, 2048, 2048, Batch, Isa);

    [Benchmark]
    public void MatMat() => Run();
}

/// <summary>Matrix-matrix at batch 128 for the remaining quant types (their prompt kernels), same shape as MatMatBench.</summary>
public class MatMatMoreTypesBench : ProductBench
{
    [ParamsSource(nameof(Types))] public GgmlType Type { get; set; }
    [Params(128)] public int Batch { get; set; }
    [ParamsSource(nameof(Isas))] public KernelIsa Isa { get; set; }

    public static IEnumerable<GgmlType> Types() => [GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K];
    public static IEnumerable<KernelIsa> Isas() => Paths.Simd();

    [GlobalSetup]
    public void Setup() => Init(Type, 2048, 2048, Batch, Isa);

    [Benchmark]
    public void MatMat() => Run();
}
