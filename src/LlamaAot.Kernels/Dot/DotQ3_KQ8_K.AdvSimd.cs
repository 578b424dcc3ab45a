// NEON Q3_K · Q8_K dot (AArch64), a mirror of DotQ3_KQ8_K.Vector128.cs with NEON's quad sums (IntDotNeon.Quads:
// sdot, or smull + saddlp + addp) and mla for the 16-element scales. Quants −4..3 as signed bytes: every product exact.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ3_KQ8_K
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        sbyte* sc = stackalloc sbyte[16];
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ3_K.QK; i++, w += sizeof(BlockQ3_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ3_K*)w;
            var y = (BlockQ8_K*)a;
            float d = y->D * Fp16.ToFloat(x->D);
            KScales.Q3Scales(x->Scales, sc);
            var hmA = AdvSimd.LoadVector128(x->HMask);
            var hmB = AdvSimd.LoadVector128(x->HMask + 16);
            var three = Vector128.Create((byte)3);
            var one = Vector128<byte>.One;
            var four = Vector128.Create((byte)4);
            var l0 = Vector128<int>.Zero;
            var l1 = Vector128<int>.Zero;
            for (int c = 0; c < 8; c++)
            {
                byte* q = x->Qs + 32 * (c >> 2);
                int shift = 2 * (c & 3);
                var qa = AdvSimd.Subtract(AdvSimd.Or(AdvSimd.And(AdvSimd.LoadVector128(q) >>> shift, three),
                    AdvSimd.ShiftLeftLogical(AdvSimd.And(hmA >>> c, one), 2)), four);
                var qb = AdvSimd.Subtract(AdvSimd.Or(AdvSimd.And(AdvSimd.LoadVector128(q + 16) >>> shift, three),
                    AdvSimd.ShiftLeftLogical(AdvSimd.And(hmB >>> c, one), 2)), four);
                l0 = AdvSimd.MultiplyAdd(l0, IntDotNeon.Quads(qa.AsSByte(), AdvSimd.LoadVector128(y->Qs + 32 * c)), Vector128.Create(sc[2 * c] - 32));
                l1 = AdvSimd.MultiplyAdd(l1, IntDotNeon.Quads(qb.AsSByte(), AdvSimd.LoadVector128(y->Qs + 32 * c + 16)), Vector128.Create(sc[2 * c + 1] - 32));
            }
            lo = AdvSimd.FusedMultiplyAdd(lo, Vector128.Create(d), AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, Vector128.Create(d), AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi);
    }
}
