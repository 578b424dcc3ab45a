// NEON Q6_K · Q8_K dot (AArch64), a mirror of DotQ6_KQ8_K.Vector128.cs: byte shifts are native, the quad sums are
// IntDotNeon.Quads (sdot, or smull + saddlp + addp; u ≤ 63 fits a signed byte), the scale an int32 multiply, and the
// −32 offset smull/smull2 of bsums and scales, addp of the pairs, << 5. Float part as in the Vector128 path.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ6_KQ8_K
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) return Reference(w, a, n);
        var x = (BlockQ6_K*)w;
        var y = (BlockQ8_K*)a;
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ6_K.QK; i++, x++, y++)
        {
            var d = Fp16Vector.HalfHiToSingleArith(Vector128.Create(x->D << 16)) * Vector128.Create(y->D);
            var sc = AdvSimd.LoadVector128(x->Scales);
            var s0 = AdvSimd.SignExtendWideningLower(sc.GetLower());
            var s1 = AdvSimd.SignExtendWideningUpper(sc);
            var b0 = AdvSimd.LoadVector128(y->BSums);
            var b1 = AdvSimd.LoadVector128(y->BSums + 8);
            var o0 = AdvSimd.Arm64.AddPairwise(AdvSimd.MultiplyWideningLower(b0.GetLower(), s0.GetLower()), AdvSimd.MultiplyWideningUpper(b0, s0));
            var o1 = AdvSimd.Arm64.AddPairwise(AdvSimd.MultiplyWideningLower(b1.GetLower(), s1.GetLower()), AdvSimd.MultiplyWideningUpper(b1, s1));
            var l0 = AdvSimd.Subtract(HalfLanesNeon(x, y, 0), o0 << 5);
            var l1 = AdvSimd.Subtract(HalfLanesNeon(x, y, 1), o1 << 5);
            lo = AdvSimd.FusedMultiplyAdd(lo, d, AdvSimd.ConvertToSingle(l0));
            hi = AdvSimd.FusedMultiplyAdd(hi, d, AdvSimd.ConvertToSingle(l1));
        }
        return IntDotV128.Hsum8(lo, hi);
    }

    /// <summary>Spec lanes 4t..4t+3 without the −32 offset (NEON; callers check AdvSimd.Arm64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> HalfLanesNeon(BlockQ6_K* x, BlockQ8_K* y, int t)
    {
        var lowNibble = Vector128.Create((byte)0x0F);
        var highBits = Vector128.Create((byte)0x30);
        byte* ql = x->Ql + 16 * t;
        byte* qh = x->Qh + 16 * t;
        sbyte* q8 = y->Qs + 16 * t;
        sbyte* sc = x->Scales + t;
        var sum = Vector128<int>.Zero;
        for (int g = 0; g < 2; g++, ql += 64, qh += 32, q8 += 128, sc += 8)
        {
            var l0 = AdvSimd.LoadVector128(ql);
            var l1 = AdvSimd.LoadVector128(ql + 32);
            var h = AdvSimd.LoadVector128(qh);
            var u0 = AdvSimd.Or(AdvSimd.And(l0, lowNibble), AdvSimd.And(AdvSimd.ShiftLeftLogical(h, 4), highBits));
            var u1 = AdvSimd.Or(AdvSimd.And(l1, lowNibble), AdvSimd.And(AdvSimd.ShiftLeftLogical(h, 2), highBits));
            var u2 = AdvSimd.Or(AdvSimd.ShiftRightLogical(l0, 4), AdvSimd.And(h, highBits));
            var u3 = AdvSimd.Or(AdvSimd.ShiftRightLogical(l1, 4), AdvSimd.And(AdvSimd.ShiftRightLogical(h, 2), highBits));
            sum = AdvSimd.Add(sum, AdvSimd.Multiply(IntDotNeon.Quads(u0.AsSByte(), AdvSimd.LoadVector128(q8)), Vector128.Create((int)sc[0])));
            sum = AdvSimd.Add(sum, AdvSimd.Multiply(IntDotNeon.Quads(u1.AsSByte(), AdvSimd.LoadVector128(q8 + 32)), Vector128.Create((int)sc[2])));
            sum = AdvSimd.Add(sum, AdvSimd.Multiply(IntDotNeon.Quads(u2.AsSByte(), AdvSimd.LoadVector128(q8 + 64)), Vector128.Create((int)sc[4])));
            sum = AdvSimd.Add(sum, AdvSimd.Multiply(IntDotNeon.Quads(u3.AsSByte(), AdvSimd.LoadVector128(q8 + 96)), Vector128.Create((int)sc[6])));
        }
        return sum;
    }
}
