// Vector128 Q6_K · Q8_K dot, portable Vector128 operators only (SSE and NEON machines); spec DotQ6_KQ8_K.Reference.
//   The 8 spec lanes are two Vector128<int>: elements 0..15 of every 32-element chunk feed lanes 0..3, elements
//   16..31 lanes 4..7. Per 16-element half-chunk the unsigned 6-bit quants are assembled as in the AVX2 path (low
//   nibble | high 2 bits moved to bits 4..5 with 16-bit shifts and masks), IntDotV128.Quads forms the quad sums
//   (u ≤ 63, so every int16 pair stays exact for activations down to -128) and an int32 multiply applies the
//   half's sub-block scale. The −32 offset: sc[2l]·bs[2l] + sc[2l+1]·bs[2l+1] per lane (MaddV128, the parity split
//   of IntDotV128 on int16 pairs), shifted left by 5 and subtracted.
//   Float part: per block lo/hi = fma(d, lanes, lo/hi) with d = d_a·fp32(d_w) (Fp16Vector), then Hsum8.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ6_KQ8_K
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        var x = (BlockQ6_K*)w;
        var y = (BlockQ8_K*)a;
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ6_K.QK; i++, x++, y++)
        {
            var d = Fp16Vector.HalfHiToSingleArith(Vector128.Create(x->D << 16)) * Vector128.Create(y->D);
            var l0 = HalfLanesV128(x, y, 0);
            var l1 = HalfLanesV128(x, y, 1);
            var s = (sbyte*)x->Scales;
            var bs = y->BSums;
            l0 -= MaddV128(Vector128.Load(bs), Vector128.WidenLower(Vector128.Load(s))) << 5;
            l1 -= MaddV128(Vector128.Load(bs + 8), Vector128.WidenUpper(Vector128.Load(s))) << 5;
            lo = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi);
    }

    /// <summary>Lane l = a[2l]·b[2l] + a[2l+1]·b[2l+1] (vpmaddwd / smlal semantics, exact in int32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> MaddV128(Vector128<short> a, Vector128<short> b)
    {
        var p = a.AsInt32();
        var q = b.AsInt32();
        return ((p << 16) >> 16) * ((q << 16) >> 16) + (p >> 16) * (q >> 16);
    }

    /// <summary>Unsigned quants of elements 16t..16t+15 of the four chunks of group g, as bytes (Vector128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void QuantsV128(byte* ql, byte* qh, out Vector128<byte> u0, out Vector128<byte> u1,
        out Vector128<byte> u2, out Vector128<byte> u3)
    {
        var lowNibble = Vector128.Create((byte)0x0F);
        var highBits = Vector128.Create((byte)0x30);
        var l0 = Vector128.Load(ql);
        var l1 = Vector128.Load(ql + 32);
        var h = Vector128.Load(qh).AsUInt16();
        u0 = (l0 & lowNibble) | ((h << 4).AsByte() & highBits);
        u1 = (l1 & lowNibble) | ((h << 2).AsByte() & highBits);
        u2 = ((l0.AsUInt16() >>> 4).AsByte() & lowNibble) | (h.AsByte() & highBits);
        u3 = ((l1.AsUInt16() >>> 4).AsByte() & lowNibble) | ((h >>> 2).AsByte() & highBits);
    }

    /// <summary>Spec lanes 4t..4t+3 of one super-block without the −32 offset: Σ over the 8 chunks of their
    /// elements 16t..16t+15 (Vector128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> HalfLanesV128(BlockQ6_K* x, BlockQ8_K* y, int t)
    {
        byte* ql = x->Ql + 16 * t;
        byte* qh = x->Qh + 16 * t;
        sbyte* q8 = y->Qs + 16 * t;
        sbyte* sc = x->Scales + t;
        var sum = Vector128<int>.Zero;
        for (int g = 0; g < 2; g++, ql += 64, qh += 32, q8 += 128, sc += 8)
        {
            QuantsV128(ql, qh, out var u0, out var u1, out var u2, out var u3);
            sum += IntDotV128.Quads(u0.AsSByte(), Vector128.Load(q8)) * Vector128.Create((int)sc[0]);
            sum += IntDotV128.Quads(u1.AsSByte(), Vector128.Load(q8 + 32)) * Vector128.Create((int)sc[2]);
            sum += IntDotV128.Quads(u2.AsSByte(), Vector128.Load(q8 + 64)) * Vector128.Create((int)sc[4]);
            sum += IntDotV128.Quads(u3.AsSByte(), Vector128.Load(q8 + 96)) * Vector128.Create((int)sc[6]);
        }
        return sum;
    }
}
