// What every kernel-path test class shares: which paths this CPU runs, seeds that are fixed per case (SALT varies
// them for extra runs), random and special fp16 scales, and the bit-exact comparison (any NaN matches any NaN:
// which payload an fma propagates depends on operand order).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Tests.Kernels;

public static class KernelTestKit
{
    public static bool Supported(string path) => path switch
    {
        "avx512" => Avx512F.IsSupported && Avx512BW.IsSupported && Avx2.IsSupported && Fma.IsSupported,
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
}
