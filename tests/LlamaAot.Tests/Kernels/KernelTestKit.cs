// What every kernel-path test class shares: which paths this CPU runs, seeds that are fixed per case (SALT varies
// them for extra runs), the kinds of block contents and their fp16 scales, the bit-exact comparison (any NaN matches
// any NaN: which payload an fma propagates depends on operand order), and the row-range product check.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Tests.Kernels;

public static class KernelTestKit
{
    public static bool Supported(string path) => path switch
    {
        "avx512" => Avx512F.IsSupported && Avx512BW.IsSupported && Avx2.IsSupported && Fma.IsSupported,
        "avx512-intrinsic" => Supported("avx512"),
        "avx2" => Avx2.IsSupported && Fma.IsSupported,
        "v128" => Vector128.IsHardwareAccelerated,
        "neon" => AdvSimd.Arm64.IsSupported,
        _ => false,
    };

    /// <summary>The given paths that this CPU runs, as theory data (NEON is never listed on x64).</summary>
    public static TheoryData<string> PathData(params string[] paths)
    {
        var data = new TheoryData<string>();
        foreach (string p in paths.Where(Supported)) data.Add(p);
        return data;
    }

    /// <summary>A fixed seed per case (HashCode.Combine is randomised per process, which would make runs differ).</summary>
    public static int Seed(int a, int b, int c, int d) =>
        ((a * 31 + b) * 31 + c) * 31 + d + int.Parse(Environment.GetEnvironmentVariable("SALT") ?? "0") * 7919;

    /// <summary>fp16 scales of every kind special fills draw from: ±0, subnormals, the largest finite, ±inf, quiet and
    /// signalling NaN, 1.</summary>
    public static readonly ushort[] SpecialHalves = [0x0000, 0x8000, 0x0001, 0x03ff, 0x8200, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7d01, 0x3c00];

    /// <summary>A random finite fp16 scale of either sign, magnitude 2^-16 .. 4.</summary>
    public static ushort RandomScale(Random rng) =>
        Fp16.FromFloat((float)((rng.Next(2) == 0 ? 1 : -1) * Math.Pow(2, rng.Next(-16, 2)) * (1 + rng.NextDouble())));

    public static uint Bits(float f) => BitConverter.SingleToUInt32Bits(f);

    public static bool SameOrBothNaN(float a, float b) => Bits(a) == Bits(b) || (float.IsNaN(a) && float.IsNaN(b));

    public static void AssertSame(float want, float got, string what) =>
        Assert.True(SameOrBothNaN(want, got), $"{what}: expected {want:R} (0x{Bits(want):x8}) got {got:R} (0x{Bits(got):x8})");

    /// <summary>Kinds of block contents the kernel tests fill (each class says what each means for its formats;
    /// ExtremeActivations is the K-quant tests' own).</summary>
    public enum Fill { Random, Extreme, ZeroScales, SpecialScales, Quantized, ExtremeActivations }

    /// <summary>A weight block's fp16 scale for a fill: now and then ±0 (ZeroScales) or a special half
    /// (SpecialScales), ±largest finite (Extreme), otherwise random.</summary>
    public static ushort ScaleFor(Fill fill, Random rng) => fill switch
    {
        Fill.ZeroScales => rng.Next(3) == 0 ? (ushort)(rng.Next(2) == 0 ? 0x0000 : 0x8000) : RandomScale(rng),
        Fill.SpecialScales => rng.Next(3) == 0 ? SpecialHalves[rng.Next(SpecialHalves.Length)] : RandomScale(rng),
        Fill.Extreme => rng.Next(2) == 0 ? (ushort)0x7bff : (ushort)0xfbff,
        _ => RandomScale(rng),
    };

    /// <summary>Runs a row-range product over each (start, end) of ranges and checks every output: inside the range
    /// the reference dot's bits for that weight row and activation row, outside it untouched (Y is filled with NaN
    /// first). m describes the operands; its Y, of Batch·YStride floats, is overwritten.</summary>
    public static unsafe void CheckGemmRanges(MatMulArgs m, delegate*<MatMulArgs*, int, int, void> gemm,
        delegate*<byte*, byte*, int, float> reference, (int Start, int End)[] ranges, string label)
    {
        foreach (var (start, end) in ranges)
        {
            for (long i = 0; i < m.Batch * m.YStride; i++) m.Y[i] = float.NaN;
            gemm(&m, start, end);
            for (int b = 0; b < m.Batch; b++)
            {
                for (int r = 0; r < m.Rows; r++)
                {
                    float got = m.Y[b * m.YStride + r];
                    string what = $"{label} rows [{start}, {end}) batch {m.Batch}: y[{b}, {r}]";
                    if (r < start || r >= end) Assert.True(float.IsNaN(got), $"{what} written outside the range");
                    else AssertSame(reference(m.W + r * m.RowBytes, m.Act + b * m.ActRowBytes, m.Cols), got, what);
                }
            }
        }
    }
}
