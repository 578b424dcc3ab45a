// Vector128 Q5_0 · Q8_0 dot, portable Vector128 operators only (SSE and NEON machines): the weights (5-bit value − 16)
// as signed bytes (LegacyLanes.cs) into the Q8_0 quad sums (IntDotV128.Quads), one fma per lane per block, then
// Hsum8 — LegacyOrder.Dot exactly.
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_0Q8_0
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int b = 0; b < n / BlockQ5_0.QK; b++, w += sizeof(BlockQ5_0), a += sizeof(BlockQ8_0))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            var (q0, q1) = LegacyV128.Q5Weights(w + 6, w + 2, 16);
            var l0 = IntDotV128.Quads(q0, Vector128.Load((sbyte*)(a + 2)));
            var l1 = IntDotV128.Quads(q1, Vector128.Load((sbyte*)(a + 18)));
            lo = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi);
    }
}
