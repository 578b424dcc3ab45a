// AVX2 Q5_K · Q8_K dot (helpers in KQuantAvx2.cs and DotQ8_0Q8_0.Avx2.cs).
//   Integer part: a super-block is 8 chunks of 32 elements, chunk c = 2g + h (g = 32-byte group of qs, h = high
//   nibbles) with one 6-bit scale. Its quants (nibble | 16·qh bit c, 0..31) go unsigned into vpmaddubsw against the
//   32 activation bytes (any int8, −128 included: |pair| ≤ 2·31·128 < 2^15), vpmaddwd with the chunk's scale
//   broadcast to all int16s (≤ 63, so ≤ 10^6 per int32), and the 8 chunks add up in int32: lane j of the ymm holds
//   bytes 4j..4j+3 of every chunk, the spec's lane, exactly. The qh bit c sits at bit c of every qh byte; a 16-bit
//   shift by 4 − c and a byte mask 0x10 move it to bit 4 without picking up bits of the neighbouring byte.
//   The 6-bit scales and mins are unpacked with ggml's kmask word shuffle (scales 0..3, 4..7, mins 0..3, 4..7 as
//   four uint32 of bytes), widened to int16 once per block; the mins are a vpmaddwd of the 16 bsums with each min
//   repeated twice (m_j·(bs[2j] + bs[2j+1]), an exact integer) summed to a scalar.
//   Float part: acc[l] = fma(d, lane[l], acc[l]) in one ymm, summs = fma(−d_a·dmin, Σ m·bsums, summs) as a scalar
//   chain, both in block order; result Hsum8(acc) + summs — the spec's ops in the spec's order.
//   Prompts (Avx2Acts4): each block's chunk pairs (KQuantAvx2.ChunkPair) are unpacked once for four activation
//   rows, each row keeping its own acc and summs (batch 128: 49 → 92 GOPS a thread).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_KQ8_K
{
    private const int QW = 176;   // sizeof(BlockQ5_K): fp16 d, fp16 dmin, 12 scale bytes, 32 qh, 128 qs

    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ5_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        float* dm = stackalloc float[KQuantAvx2.Group];
        var acc = Vector256<float>.Zero;
        float summs = 0;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            var da = KQuantAvx2.ActScales8(y, count);
            var dw = KQuantAvx2.Words8(x, QW, count);
            (da * KQuantAvx2.LowHalf(dw)).Store(d);
            KQuantAvx2.Negate(da * KQuantAvx2.HighHalf(dw)).Store(dm);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                var (lanes, mins) = Lanes(x, y);
                summs = MathF.FusedMultiplyAdd(dm[k], mins, summs);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc) + summs;
    }

    /// <summary>y[j·yStride] = Avx2(w, a + j·actStride, n) for j &lt; 4, bit for bit: the prompt kernel. Each
    /// super-block's scales, mins and 5-bit quants are unpacked once for the four activation rows.</summary>
    public static void Avx2Acts4(byte* w, byte* a, long actStride, int n, float* y, long yStride)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported)
        {
            for (int j = 0; j < 4; j++) y[j * yStride] = Reference(w, a + j * actStride, n);
            return;
        }
        const int QA = KQuantAvx2.Q8K, Q = KQuantAvx2.QsOffset;
        byte* x = w, a0 = a, a1 = a + actStride, a2 = a + 2 * actStride, a3 = a + 3 * actStride;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float summs0 = 0, summs1 = 0, summs2 = 0, summs3 = 0;
        for (int i = 0; i < n / BlockQ5_K.QK; i++, x += QW, a0 += QA, a1 += QA, a2 += QA, a3 += QA)
        {
            var sm = ScalesAndMins(x);
            var sc = X86.Avx2.Permute2x128(sm, sm, 0x00).AsByte();
            var qh = Vector256.Load(x + 16);
            Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default;
            Pair(x, qh, sc, 0).AddLanes((sbyte*)(a0 + Q), (sbyte*)(a1 + Q), (sbyte*)(a2 + Q), (sbyte*)(a3 + Q), ref l0, ref l1, ref l2, ref l3);
            Pair(x, qh, sc, 1).AddLanes((sbyte*)(a0 + Q + 64), (sbyte*)(a1 + Q + 64), (sbyte*)(a2 + Q + 64), (sbyte*)(a3 + Q + 64), ref l0, ref l1, ref l2, ref l3);
            Pair(x, qh, sc, 2).AddLanes((sbyte*)(a0 + Q + 128), (sbyte*)(a1 + Q + 128), (sbyte*)(a2 + Q + 128), (sbyte*)(a3 + Q + 128), ref l0, ref l1, ref l2, ref l3);
            Pair(x, qh, sc, 3).AddLanes((sbyte*)(a0 + Q + 192), (sbyte*)(a1 + Q + 192), (sbyte*)(a2 + Q + 192), (sbyte*)(a3 + Q + 192), ref l0, ref l1, ref l2, ref l3);
            var minWords = MinWords(sm);
            var halves = Fp16Vector.HalfPairToSingle(x);   // (d_w, dmin_w)
            Step(a0, halves, minWords, l0, ref acc0, ref summs0);
            Step(a1, halves, minWords, l1, ref acc1, ref summs1);
            Step(a2, halves, minWords, l2, ref acc2, ref summs2);
            Step(a3, halves, minWords, l3, ref acc3, ref summs3);
        }
        y[0] = IntDotAvx2.Hsum8(acc0) + summs0;
        y[yStride] = IntDotAvx2.Hsum8(acc1) + summs1;
        y[2 * yStride] = IntDotAvx2.Hsum8(acc2) + summs2;
        y[3 * yStride] = IntDotAvx2.Hsum8(acc3) + summs3;
    }

    /// <summary>Prompts: four activation rows per pass over a weight row (Avx2Acts4), leftovers and decode by m->Dot.</summary>
    public static void GemmAvx2(MatMul.MatMulArgs* m, int start, int end) => MatMul.MatMul.Acts4Rows(m, start, end, &Avx2Acts4);

    /// <summary>One block of the spec's float part for one activation row y: summs = fma(−d_a·dmin, Σ m·bsums, summs),
    /// acc = fma(d_a·d, lanes, acc), the products formed as Avx2 forms them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(byte* y, Vector128<float> halves, Vector256<short> minWords, Vector256<int> lanes, ref Vector256<float> acc, ref float summs)
    {
        var dd = Vector128.Create(*(float*)y) * halves;
        int mins = KQuantAvx2.Sum(X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(y + KQuantAvx2.BSumsOffset)), minWords));
        summs = MathF.FusedMultiplyAdd(-dd.GetElement(1), mins, summs);
        acc = Fma.MultiplyAdd(X86.Avx2.BroadcastScalarToVector256(dd), Avx.ConvertToVector256Single(lanes), acc);
    }

    /// <summary>The 8 spec lanes of one super-block pair and Σ_j m_j·(bs[2j] + bs[2j+1]) (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Lanes, int Mins) Lanes(byte* x, byte* y)
    {
        var sm = ScalesAndMins(x);
        var bs = Vector256.Load((short*)(y + KQuantAvx2.BSumsOffset));
        int mins = KQuantAvx2.Sum(X86.Avx2.MultiplyAddAdjacent(bs, MinWords(sm)));
        var sc = X86.Avx2.Permute2x128(sm, sm, 0x00).AsByte();      // scales 0..7 in both halves
        var qh = Vector256.Load(x + 16);
        sbyte* ya = (sbyte*)(y + KQuantAvx2.QsOffset);
        var lanes = (Pair(x, qh, sc, 0).Lanes(ya) + Pair(x, qh, sc, 1).Lanes(ya + 64))
            + (Pair(x, qh, sc, 2).Lanes(ya + 128) + Pair(x, qh, sc, 3).Lanes(ya + 192));
        return (lanes, mins);
    }

    /// <summary>The 8 scales (low half) and 8 mins (high half) of a block as int16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScalesAndMins(byte* x) => KQuantAvx2.Widen(KQuantAvx2.ScalesAndMins(x + 4));

    /// <summary>Each min repeated twice as int16, so vpmaddwd with the 16 bsums gives m_j·(bs[2j] + bs[2j+1]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> MinWords(Vector256<short> sm)
    {
        var m32 = X86.Avx2.ConvertToVector256Int32(sm.GetUpper());
        return (m32 | (m32 << 16)).AsInt16();
    }

    /// <summary>Chunks 2g (low nibbles of qs group g) and 2g+1 (high nibbles), each nibble | 16·(its qh bit), with their
    /// scales broadcast to int16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ChunkPair Pair(byte* x, Vector256<byte> qh, Vector256<byte> sc, [ConstantExpected] int g)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        var v = Vector256.Load(x + 48 + 32 * g);
        var lo = (v & m4) | (High(qh, 2 * g) & bit4);
        var hi = ((v.AsUInt16() >>> 4).AsByte() & m4) | (High(qh, 2 * g + 1) & bit4);
        return new ChunkPair(lo, X86.Avx2.Shuffle(sc, KQuantAvx2.WordMask(2 * g)).AsInt16(), hi, X86.Avx2.Shuffle(sc, KQuantAvx2.WordMask(2 * g + 1)).AsInt16());
    }

    /// <summary>qh with bit c of every byte moved to bit 4 (other bits garbage; mask with 0x10).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> qh, int c) =>
        c < 4 ? (qh.AsUInt16() << (4 - c)).AsByte() : c == 4 ? qh : (qh.AsUInt16() >>> (c - 4)).AsByte();
}
