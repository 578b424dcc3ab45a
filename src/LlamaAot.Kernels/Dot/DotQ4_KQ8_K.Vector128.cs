// Vector128 Q4_K · Q8_K dots, both specs, portable Vector128 operators only (SSE and NEON machines).
//   The 8 spec lanes are two Vector128<int>: elements 0..15 of every 32-element chunk feed lanes 0..3, elements
//   16..31 lanes 4..7. Per 16-element half-chunk: nibbles as bytes, IntDotV128.Quads (|q| ≤ 15, exact for any
//   activation byte), times the chunk's 6-bit scale in int32. Scales and mins from ScalesAndMins (DotQ4_KQ8_K.Avx2.cs,
//   portable); the spec's four min integers m[2k]·S[2k] + m[2k+1]·S[2k+1] in scalar code (16 products a block).
//   Reference: lo/hi = fma(d, lanes, ·), accm = fma(dmin, mins, accm) per block; Hsum8 + ((accm0 + accm2) +
//   (accm1 + accm3)). Blockwise: the lanes summed to sumi, the mins to one integer, then the two scalar fma chains.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_KQ8_K
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
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
            var l0 = HalfLanesV128(x, y, sm, 0);
            var l1 = HalfLanesV128(x, y, sm, 1);
            var d = Vector128.Create(dd.ToScalar());
            lo = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l1), hi);
            accm = Vector128.FusedMultiplyAdd(Vector128.Create(dd.GetElement(1)), Vector128.ConvertToSingle(MinsScalar(sm + 8, y->BSums)), accm);
        }
        return IntDotV128.Hsum8(lo, hi) + ((accm.GetElement(0) + accm.GetElement(2)) + (accm.GetElement(1) + accm.GetElement(3)));
    }

    public static float V128Blockwise(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return ReferenceBlockwise(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        byte* sm = stackalloc byte[16];
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            ScalesAndMins(x).Store(sm);
            var dd = HalfScales(x, y->D, y->D);                  // (d_w·d_a, dmin_w·d_a, ·, ·)
            int sumi = Vector128.Sum(HalfLanesV128(x, y, sm, 0) + HalfLanesV128(x, y, sm, 1));
            int summ = Vector128.Sum(MinsScalar(sm + 8, y->BSums));
            acc = MathF.FusedMultiplyAdd(sumi, dd.ToScalar(), acc);
            accm = MathF.FusedMultiplyAdd(summ, dd.GetElement(1), accm);
        }
        return acc - accm;
    }

    /// <summary>The spec's four min integers m[2k]·(bs[4k] + bs[4k+1]) + m[2k+1]·(bs[4k+2] + bs[4k+3]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> MinsScalar(byte* m, short* bs)
    {
        int p0 = m[0] * (bs[0] + bs[1]) + m[1] * (bs[2] + bs[3]);
        int p1 = m[2] * (bs[4] + bs[5]) + m[3] * (bs[6] + bs[7]);
        int p2 = m[4] * (bs[8] + bs[9]) + m[5] * (bs[10] + bs[11]);
        int p3 = m[6] * (bs[12] + bs[13]) + m[7] * (bs[14] + bs[15]);
        return Vector128.Create(p0, p1, p2, p3);
    }

    /// <summary>Spec lanes 4t..4t+3 of one super-block: Σ over the 8 chunks of their elements 16t..16t+15 times the
    /// chunk's scale sc[c] (Vector128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> HalfLanesV128(BlockQ4_K* x, BlockQ8_K* y, byte* sc, int t)
    {
        var lowNibble = Vector128.Create((byte)0x0F);
        byte* qs = x->Qs + 16 * t;
        sbyte* q8 = y->Qs + 16 * t;
        var sum = Vector128<int>.Zero;
        for (int g = 0; g < 4; g++, qs += 32, q8 += 64, sc += 2)
        {
            var q = Vector128.Load(qs);
            var low = (q & lowNibble).AsSByte();
            var high = ((q.AsUInt16() >>> 4).AsByte() & lowNibble).AsSByte();
            sum += IntDotV128.Quads(low, Vector128.Load(q8)) * Vector128.Create((int)sc[0]);
            sum += IntDotV128.Quads(high, Vector128.Load(q8 + 32)) * Vector128.Create((int)sc[1]);
        }
        return sum;
    }
}
