// NEON Q4_K · Q8_K dots (AArch64), both specs: a mirror of DotQ4_KQ8_K.Vector128.cs with native byte shifts and
// IntDotNeon.Quads (sdot, or smull + saddlp + addp); scales, mins and d/dmin from the shared portable helpers.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_KQ8_K
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        byte* sm = stackalloc byte[16];
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        var accm = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            ScalesAndMins(x).Store(sm);
            var dd = HalfScales(x, y->D, -y->D);                 // (d, dmin, ·, ·)
            var l0 = HalfLanesNeon(x, y, sm, 0);
            var l1 = HalfLanesNeon(x, y, sm, 1);
            var d = Vector128.Create(dd.ToScalar());
            lo = AdvSimd.FusedMultiplyAdd(lo, d, AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, d, AdvSimd.ConvertToSingle(l1));
            accm = AdvSimd.FusedMultiplyAdd(accm, Vector128.Create(dd.GetElement(1)), AdvSimd.ConvertToSingle(MinsScalar(sm + 8, y->BSums)));
        }
        return IntDotV128.Hsum8(lo, hi) + ((accm.GetElement(0) + accm.GetElement(2)) + (accm.GetElement(1) + accm.GetElement(3)));
    }

    public static float NeonBlockwise(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return ReferenceBlockwise(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        byte* sm = stackalloc byte[16];
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            ScalesAndMins(x).Store(sm);
            var dd = HalfScales(x, y->D, y->D);                  // (d_w·d_a, dmin_w·d_a, ·, ·)
            int sumi = AdvSimd.Arm64.AddAcross(AdvSimd.Add(HalfLanesNeon(x, y, sm, 0), HalfLanesNeon(x, y, sm, 1))).ToScalar();
            int summ = AdvSimd.Arm64.AddAcross(MinsScalar(sm + 8, y->BSums)).ToScalar();
            acc = MathF.FusedMultiplyAdd(sumi, dd.ToScalar(), acc);
            accm = MathF.FusedMultiplyAdd(summ, dd.GetElement(1), accm);
        }
        return acc - accm;
    }

    /// <summary>Spec lanes 4t..4t+3 of one super-block (NEON; callers check AdvSimd.Arm64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> HalfLanesNeon(BlockQ4_K* x, BlockQ8_K* y, byte* sc, int t)
    {
        var lowNibble = Vector128.Create((byte)0x0F);
        byte* qs = x->Qs + 16 * t;
        sbyte* q8 = y->Qs + 16 * t;
        var sum = Vector128<int>.Zero;
        for (int g = 0; g < 4; g++, qs += 32, q8 += 64, sc += 2)
        {
            var q = AdvSimd.LoadVector128(qs);
            var low = AdvSimd.And(q, lowNibble).AsSByte();
            var high = AdvSimd.ShiftRightLogical(q, 4).AsSByte();
            sum = AdvSimd.Add(sum, AdvSimd.Multiply(IntDotNeon.Quads(low, AdvSimd.LoadVector128(q8)), Vector128.Create((int)sc[0])));
            sum = AdvSimd.Add(sum, AdvSimd.Multiply(IntDotNeon.Quads(high, AdvSimd.LoadVector128(q8 + 32)), Vector128.Create((int)sc[1])));
        }
        return sum;
    }
}
