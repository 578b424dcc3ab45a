// NEON Q2_K · Q8_K dots (AArch64), both specs: a mirror of DotQ2_KQ8_K.Vector128.cs with NEON's quad sums
// (IntDotNeon.Quads: sdot, or smull + saddlp + addp) and mla for the 4-bit scales; the min lanes are the portable
// KQuantV128.MinLanes. Quants 0..3 as bytes: every product exact.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ2_KQ8_K
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ2_K.QK; i++, w += sizeof(BlockQ2_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ2_K*)w;
            var y = (BlockQ8_K*)a;
            float d = y->D * Fp16.ToFloat(x->D);
            float dmin = -y->D * Fp16.ToFloat(x->DMin);
            var (m0, m1) = KQuantV128.MinLanes(x->Scales, y->BSums);
            lo = AdvSimd.FusedMultiplyAdd(lo, Vector128.Create(dmin), AdvSimd.ConvertToSingle(m0));
            hi = AdvSimd.FusedMultiplyAdd(hi, Vector128.Create(dmin), AdvSimd.ConvertToSingle(m1));
            var (l0, l1) = NeonLanes(x, y);
            lo = AdvSimd.FusedMultiplyAdd(lo, Vector128.Create(d), AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, Vector128.Create(d), AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi);
    }

    public static float NeonBlockwise(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return ReferenceBlockwise(w, a, n);
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ2_K.QK; i++, w += sizeof(BlockQ2_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ2_K*)w;
            var y = (BlockQ8_K*)a;
            var (m0, m1) = KQuantV128.MinLanes(x->Scales, y->BSums);
            var (l0, l1) = NeonLanes(x, y);
            int sumi = AdvSimd.Arm64.AddAcross(AdvSimd.Add(l0, l1)).ToScalar();
            int summ = AdvSimd.Arm64.AddAcross(AdvSimd.Add(m0, m1)).ToScalar();
            acc = MathF.FusedMultiplyAdd(sumi, Fp16.ToFloat(x->D) * y->D, acc);
            accm = MathF.FusedMultiplyAdd(summ, Fp16.ToFloat(x->DMin) * y->D, accm);
        }
        return acc - accm;
    }

    /// <summary>Spec lanes 0..3 and 4..7 of one super-block pair; callers check AdvSimd.Arm64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<int>, Vector128<int>) NeonLanes(BlockQ2_K* x, BlockQ8_K* y)
    {
        var three = Vector128.Create((byte)3);
        var l0 = Vector128<int>.Zero;
        var l1 = Vector128<int>.Zero;
        for (int c = 0; c < 8; c++)
        {
            byte* q = x->Qs + 32 * (c >> 2);
            int shift = 2 * (c & 3);
            var qa = AdvSimd.And(AdvSimd.LoadVector128(q) >>> shift, three);
            var qb = AdvSimd.And(AdvSimd.LoadVector128(q + 16) >>> shift, three);
            l0 = AdvSimd.MultiplyAdd(l0, IntDotNeon.Quads(qa.AsSByte(), AdvSimd.LoadVector128(y->Qs + 32 * c)), Vector128.Create(x->Scales[2 * c] & 0xF));
            l1 = AdvSimd.MultiplyAdd(l1, IntDotNeon.Quads(qb.AsSByte(), AdvSimd.LoadVector128(y->Qs + 32 * c + 16)), Vector128.Create(x->Scales[2 * c + 1] & 0xF));
        }
        return (l0, l1);
    }
}
