// NEON Q5_K · Q8_K dot (AArch64), a mirror of DotQ5_KQ8_K.Vector128.cs with NEON's quad sums (IntDotNeon.Quads:
// sdot, or smull + saddlp + addp) and mla for the sub-block scale. Quants 0..31 as bytes, so every product is exact.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_KQ8_K
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        byte* sm = stackalloc byte[16];
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        float summs = 0;
        for (int i = 0; i < n / BlockQ5_K.QK; i++, w += sizeof(BlockQ5_K), a += sizeof(BlockQ8_K))
        {
            var x = (BlockQ5_K*)w;
            var y = (BlockQ8_K*)a;
            float d = y->D * Fp16.ToFloat(x->D);
            float dmin = -y->D * Fp16.ToFloat(x->DMin);
            KQuantV128.ScalesMinsK4(x->Scales, sm);
            summs = MathF.FusedMultiplyAdd(dmin, KQuantV128.MinSum8(sm + 8, y->BSums), summs);
            var qhA = AdvSimd.LoadVector128(x->Qh);
            var qhB = AdvSimd.LoadVector128(x->Qh + 16);
            var m4 = Vector128.Create((byte)0x0F);
            var one = Vector128<byte>.One;
            var l0 = Vector128<int>.Zero;
            var l1 = Vector128<int>.Zero;
            for (int c = 0; c < 8; c++)
            {
                byte* q = x->Qs + 32 * (c >> 1);
                var va = AdvSimd.LoadVector128(q);
                var vb = AdvSimd.LoadVector128(q + 16);
                if ((c & 1) != 0)
                {
                    va = AdvSimd.ShiftRightLogical(va, 4);
                    vb = AdvSimd.ShiftRightLogical(vb, 4);
                }
                var qa = AdvSimd.Or(AdvSimd.And(va, m4), AdvSimd.ShiftLeftLogical(AdvSimd.And(qhA >>> c, one), 4));
                var qb = AdvSimd.Or(AdvSimd.And(vb, m4), AdvSimd.ShiftLeftLogical(AdvSimd.And(qhB >>> c, one), 4));
                var s = Vector128.Create((int)sm[c]);
                l0 = AdvSimd.MultiplyAdd(l0, IntDotNeon.Quads(qa.AsSByte(), AdvSimd.LoadVector128(y->Qs + 32 * c)), s);
                l1 = AdvSimd.MultiplyAdd(l1, IntDotNeon.Quads(qb.AsSByte(), AdvSimd.LoadVector128(y->Qs + 32 * c + 16)), s);
            }
            lo = AdvSimd.FusedMultiplyAdd(lo, Vector128.Create(d), AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, Vector128.Create(d), AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi) + summs;
    }
}
