// NEON Q4_0 · Q8_0 dots (AArch64), both specs: the Vector128 path with NEON's quad sums (sdot, or smull + saddlp +
// addp; see DotQ8_0Q8_0.AdvSimd.cs). Weights are (nibble − 8) bytes as in DotQ4_0Q8_0.Vector128.cs.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_0Q8_0
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int b = 0; b < n / BlockQ4_0.QK; b++, w += sizeof(BlockQ4_0), a += sizeof(BlockQ8_0))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            var (l0, l1) = NeonLanes(w, a);
            lo = AdvSimd.FusedMultiplyAdd(lo, d, AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, d, AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi);
    }

    public static float NeonBlockwise(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return ReferenceBlockwise(w, a, n);
        float acc = 0;
        for (int b = 0; b < n / BlockQ4_0.QK; b++, w += sizeof(BlockQ4_0), a += sizeof(BlockQ8_0))
        {
            var (l0, l1) = NeonLanes(w, a);
            int sumi = AdvSimd.Arm64.AddAcross(AdvSimd.Add(l0, l1)).ToScalar();
            acc = MathF.FusedMultiplyAdd(sumi, IntDotV128.Scale(w, a), acc);
        }
        return acc;
    }

    /// <summary>Spec lanes 0..3 and 4..7 of one block pair; callers check AdvSimd.Arm64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<int>, Vector128<int>) NeonLanes(byte* w, byte* a)
    {
        var q = AdvSimd.LoadVector128(w + 2);
        var eight = Vector128.Create((byte)8);
        var low = AdvSimd.Subtract(AdvSimd.And(q, Vector128.Create((byte)0x0F)), eight).AsSByte();
        var high = AdvSimd.Subtract(AdvSimd.ShiftRightLogical(q, 4), eight).AsSByte();
        return (IntDotNeon.Quads(low, AdvSimd.LoadVector128((sbyte*)(a + 2))),
            IntDotNeon.Quads(high, AdvSimd.LoadVector128((sbyte*)(a + 18))));
    }
}
