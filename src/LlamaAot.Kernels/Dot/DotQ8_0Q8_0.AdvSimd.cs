// NEON Q8_0 · Q8_0 dot (AArch64), a mirror of the Vector128 path. sdot (Dp.DotProduct) adds the four products of
// consecutive bytes into each int32 lane — exactly the spec's lane — so a block's 8 lanes are two sdots. Without the
// dot-product extension: smull/smull2 (int8 × int8 → int16, exact for every byte pair), saddlp (pairs → int32) and
// addp (pairs of pairs), the same lanes in the same order. Float part as in DotQ8_0Q8_0.Vector128.cs.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

/// <summary>NEON building blocks of the Q8_0/Q4_0 dots; callers check AdvSimd.Arm64.</summary>
internal static class IntDotNeon
{
    /// <summary>Spec lanes of 16 element pairs: lane j = Σ x[i]·y[i], i = 4j..4j+3 (any int8 values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Quads(Vector128<sbyte> x, Vector128<sbyte> y)
    {
        if (Dp.IsSupported) return Dp.DotProduct(Vector128<int>.Zero, x, y);
        var lo = AdvSimd.MultiplyWideningLower(x.GetLower(), y.GetLower());
        var hi = AdvSimd.MultiplyWideningUpper(x, y);
        return AdvSimd.Arm64.AddPairwise(AdvSimd.AddPairwiseWidening(lo), AdvSimd.AddPairwiseWidening(hi));
    }
}

public static unsafe partial class DotQ8_0Q8_0
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int b = 0; b < n / BlockQ8_0.QK; b++, w += sizeof(BlockQ8_0), a += sizeof(BlockQ8_0))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            var l0 = IntDotNeon.Quads(AdvSimd.LoadVector128((sbyte*)(w + 2)), AdvSimd.LoadVector128((sbyte*)(a + 2)));
            var l1 = IntDotNeon.Quads(AdvSimd.LoadVector128((sbyte*)(w + 18)), AdvSimd.LoadVector128((sbyte*)(a + 18)));
            lo = AdvSimd.FusedMultiplyAdd(lo, d, AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, d, AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi);
    }
}
