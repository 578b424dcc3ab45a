// Vector128 Q5_1 · Q8_1 dot, portable Vector128 operators only (SSE and NEON machines): the 5-bit values as bytes
// (nibble | qh bit << 4, LegacyLanes.cs) into the Q8_0 quad sums (IntDotV128.Quads), one fma per lane per block, the
// minimum's share m_w·s_a in a scalar added after Hsum8 — LegacyOrder.Dot exactly.
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_1Q8_1
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        float mins = 0;
        for (int b = 0; b < n / BlockQ5_1.QK; b++, w += sizeof(BlockQ5_1), a += sizeof(BlockQ8_1))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            mins += IntDotV128.Scale(w + 2, a + 2);
            var (q0, q1) = LegacyV128.Q5Weights(w + 8, w + 4, 0);
            var l0 = IntDotV128.Quads(q0, Vector128.Load((sbyte*)(a + 4)));
            var l1 = IntDotV128.Quads(q1, Vector128.Load((sbyte*)(a + 20)));
            lo = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi) + mins;
    }
}
