// NEON Q4_1 · Q8_1 dot (AArch64), a mirror of DotQ4_1Q8_1.Vector128.cs with NEON's quad sums (IntDotNeon.Quads).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_1Q8_1
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        float mins = 0;
        for (int b = 0; b < n / BlockQ4_1.QK; b++, w += sizeof(BlockQ4_1), a += sizeof(BlockQ8_1))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            mins += IntDotV128.Scale(w + 2, a + 2);
            var (q0, q1) = LegacyV128.Nibbles(w + 4);
            var l0 = IntDotNeon.Quads(q0, AdvSimd.LoadVector128((sbyte*)(a + 4)));
            var l1 = IntDotNeon.Quads(q1, AdvSimd.LoadVector128((sbyte*)(a + 20)));
            lo = AdvSimd.FusedMultiplyAdd(lo, d, AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, d, AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi) + mins;
    }
}
