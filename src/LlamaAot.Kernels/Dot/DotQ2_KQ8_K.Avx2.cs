// AVX2 Q2_K · Q8_K dots, both specs (helpers in KQuantAvx2.cs and DotQ8_0Q8_0.Avx2.cs).
//   Integer part: chunk c = 4g + s (elements 32c..32c+31) is the 2-bit field s of qs group g (a 16-bit shift by 2s,
//   then & 3: at most 6 bits of the next byte move in, all above bit 1). The quants 0..3 go unsigned into vpmaddubsw
//   against the activation bytes (any int8: |pair| ≤ 2·3·128), vpmaddwd with the 4-bit scales sc[2c] (low 16 bytes)
//   and sc[2c+1] (high 16 bytes) via one vpshufb (KQuantAvx2.PairMask), and int32 adds over the chunks: lane j holds
//   bytes 4j..4j+3 of every chunk, the spec's lane. The mins: vpmaddwd of the 16 bsums with the 16 4-bit mins gives
//   m[2l]·bs[2l] + m[2l+1]·bs[2l+1] in lane l — exactly the spec's 8 min lanes.
//   Reference: per block acc = fma(−d_a·dmin, minlanes, acc), then acc = fma(d_a·d, lanes, acc), in one ymm;
//   Hsum8 at the end. Blockwise: both integer vectors reduced to Σ lanes and Σ m·bsums by two horizontal adds, then
//   the spec's two scalar fma chains, acc − accm.
//   Prompts (Avx2Acts4 / Avx2BlockwiseActs4, one driver over the two float orders): each block's chunk pairs
//   (KQuantAvx2.ChunkPair) are unpacked once for four activation rows (batch 128, blockwise: 54 → 100 GOPS).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ2_KQ8_K
{
    private const int QW = 84;   // sizeof(BlockQ2_K): 16 scale bytes, 64 qs, fp16 d, fp16 dmin

    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ2_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        float* dm = stackalloc float[KQuantAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            var da = KQuantAvx2.ActScales8(y, count);
            var dw = KQuantAvx2.Words8(x + 80, QW, count);
            (da * KQuantAvx2.LowHalf(dw)).Store(d);
            KQuantAvx2.Negate(da * KQuantAvx2.HighHalf(dw)).Store(dm);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                var (lanes, mins) = Lanes(x, y);
                acc = Fma.MultiplyAdd(Vector256.Create(dm[k]), Avx.ConvertToVector256Single(mins), acc);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    public static float Avx2Blockwise(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return ReferenceBlockwise(w, a, n);
        const int QA = KQuantAvx2.Q8K;
        int nb = n / BlockQ2_K.QK;
        float* d = stackalloc float[KQuantAvx2.Group];
        float* dm = stackalloc float[KQuantAvx2.Group];
        float acc = 0, accm = 0;
        for (int b0 = 0; b0 < nb; b0 += KQuantAvx2.Group)
        {
            int count = Math.Min(KQuantAvx2.Group, nb - b0);
            byte* x = w + b0 * QW, y = a + b0 * QA;
            var da = KQuantAvx2.ActScales8(y, count);
            var dw = KQuantAvx2.Words8(x + 80, QW, count);
            (KQuantAvx2.LowHalf(dw) * da).Store(d);
            (KQuantAvx2.HighHalf(dw) * da).Store(dm);
            for (int k = 0; k < count; k++, x += QW, y += QA)
            {
                var (lanes, mins) = Lanes(x, y);
                var s = Sums(lanes, mins);
                acc = MathF.FusedMultiplyAdd(s.ToScalar(), d[k], acc);
                accm = MathF.FusedMultiplyAdd(s.GetElement(1), dm[k], accm);
            }
        }
        return acc - accm;
    }

    /// <summary>y[j·yStride] = Avx2(w, a + j·actStride, n) for j &lt; 4, bit for bit (Acts4, Reference order).</summary>
    public static void Avx2Acts4(byte* w, byte* a, long actStride, int n, float* y, long yStride) =>
        Acts4(w, a, actStride, n, y, yStride, blockwise: false);

    /// <summary>y[j·yStride] = Avx2Blockwise(w, a + j·actStride, n) for j &lt; 4, bit for bit (Acts4, blockwise order).</summary>
    public static void Avx2BlockwiseActs4(byte* w, byte* a, long actStride, int n, float* y, long yStride) =>
        Acts4(w, a, actStride, n, y, yStride, blockwise: true);

    /// <summary>Prompts in the Reference order: four activation rows per pass over a weight row, leftovers and decode by m->Dot.</summary>
    public static void GemmAvx2(MatMul.MatMulArgs* m, int start, int end) => MatMul.MatMul.Acts4Rows(m, start, end, &Avx2Acts4);

    /// <summary>Prompts in the blockwise order (rows % 8 == 0 matrices), leftovers and decode by m->Dot.</summary>
    public static void GemmAvx2Blockwise(MatMul.MatMulArgs* m, int start, int end) => MatMul.MatMul.Acts4Rows(m, start, end, &Avx2BlockwiseActs4);

    /// <summary>The Acts4 kernels, inlined into each entry with <paramref name="blockwise"/> a constant: each
    /// super-block's scales, mins and 2-bit quants unpacked once for four activation rows. (A generic over the two
    /// float orders compiled the same under NativeAOT, but the JIT's tiered code for it ran 3.5× slower.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acts4(byte* w, byte* a, long actStride, int n, float* y, long yStride, bool blockwise)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported)
        {
            for (int j = 0; j < 4; j++) y[j * yStride] = blockwise ? ReferenceBlockwise(w, a + j * actStride, n) : Reference(w, a + j * actStride, n);
            return;
        }
        const int QA = KQuantAvx2.Q8K, Q = KQuantAvx2.QsOffset, B = KQuantAvx2.BSumsOffset;
        byte* x = w, a0 = a, a1 = a + actStride, a2 = a + 2 * actStride, a3 = a + 3 * actStride;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (int i = 0; i < n / BlockQ2_K.QK; i++, x += QW, a0 += QA, a1 += QA, a2 += QA, a3 += QA)
        {
            Scales(x, out var scLo, out var scHi, out var minWords);
            Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default;
            Pair(x, scLo, 0).AddLanes((sbyte*)(a0 + Q), (sbyte*)(a1 + Q), (sbyte*)(a2 + Q), (sbyte*)(a3 + Q), ref l0, ref l1, ref l2, ref l3);
            Pair(x, scLo, 1).AddLanes((sbyte*)(a0 + Q + 64), (sbyte*)(a1 + Q + 64), (sbyte*)(a2 + Q + 64), (sbyte*)(a3 + Q + 64), ref l0, ref l1, ref l2, ref l3);
            Pair(x, scHi, 2).AddLanes((sbyte*)(a0 + Q + 128), (sbyte*)(a1 + Q + 128), (sbyte*)(a2 + Q + 128), (sbyte*)(a3 + Q + 128), ref l0, ref l1, ref l2, ref l3);
            Pair(x, scHi, 3).AddLanes((sbyte*)(a0 + Q + 192), (sbyte*)(a1 + Q + 192), (sbyte*)(a2 + Q + 192), (sbyte*)(a3 + Q + 192), ref l0, ref l1, ref l2, ref l3);
            var halves = Fp16Vector.HalfPairToSingle(x + 80);   // (d_w, dmin_w)
            Step(blockwise, *(float*)a0, halves, l0, X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a0 + B)), minWords), ref acc0, ref s0, ref m0);
            Step(blockwise, *(float*)a1, halves, l1, X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a1 + B)), minWords), ref acc1, ref s1, ref m1);
            Step(blockwise, *(float*)a2, halves, l2, X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a2 + B)), minWords), ref acc2, ref s2, ref m2);
            Step(blockwise, *(float*)a3, halves, l3, X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(a3 + B)), minWords), ref acc3, ref s3, ref m3);
        }
        y[0] = blockwise ? s0 - m0 : IntDotAvx2.Hsum8(acc0);
        y[yStride] = blockwise ? s1 - m1 : IntDotAvx2.Hsum8(acc1);
        y[2 * yStride] = blockwise ? s2 - m2 : IntDotAvx2.Hsum8(acc2);
        y[3 * yStride] = blockwise ? s3 - m3 : IntDotAvx2.Hsum8(acc3);
    }

    /// <summary>One block's float part for one activation row, from the block's (d_w, dmin_w) and d_a, as the
    /// single-row dots form it. Reference order (Avx2): acc = fma(−d_a·dmin, minlanes, acc), then acc = fma(d_a·d,
    /// lanes, acc). Blockwise (Avx2Blockwise): Σ lanes and Σ mins, then the two scalar chains acc1 and acc2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(bool blockwise, float da, Vector128<float> halves, Vector256<int> lanes, Vector256<int> mins,
        ref Vector256<float> acc, ref float acc1, ref float acc2)
    {
        var dd = halves * Vector128.Create(da);
        if (blockwise)
        {
            var s = Sums(lanes, mins);
            acc1 = MathF.FusedMultiplyAdd(s.ToScalar(), dd.ToScalar(), acc1);
            acc2 = MathF.FusedMultiplyAdd(s.GetElement(1), dd.GetElement(1), acc2);
        }
        else
        {
            acc = Fma.MultiplyAdd(Vector256.Create(-dd.GetElement(1)), Avx.ConvertToVector256Single(mins), acc);
            acc = Fma.MultiplyAdd(X86.Avx2.BroadcastScalarToVector256(dd), Avx.ConvertToVector256Single(lanes), acc);
        }
    }

    /// <summary>(Σ lanes, Σ mins, ·, ·) as floats: two horizontal adds, one conversion.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sums(Vector256<int> lanes, Vector256<int> mins)
    {
        var h = X86.Avx2.HorizontalAdd(lanes, mins);   // l01 l23 m01 m23 | l45 l67 m45 m67
        var t = h.GetLower() + h.GetUpper();
        return Vector128.ConvertToSingle(Ssse3.HorizontalAdd(t, t));
    }

    /// <summary>The 8 spec lanes of one super-block pair and its 8 min lanes (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Lanes, Vector256<int> Mins) Lanes(byte* x, byte* y)
    {
        Scales(x, out var scLo, out var scHi, out var minWords);
        var mins = X86.Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(y + KQuantAvx2.BSumsOffset)), minWords);
        var ya = (sbyte*)(y + KQuantAvx2.QsOffset);
        var lanes = (Pair(x, scLo, 0).Lanes(ya) + Pair(x, scLo, 1).Lanes(ya + 64))
            + (Pair(x, scHi, 2).Lanes(ya + 128) + Pair(x, scHi, 3).Lanes(ya + 192));
        return (lanes, mins);
    }

    /// <summary>The 4-bit scales of chunks 0..3 (sc 0..7) and 4..7 (sc 8..15) as int16, each group's eight in both
    /// 128-bit halves, and the 16 4-bit mins as int16 (for vpmaddwd with the bsums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scales(byte* x, out Vector256<byte> scLo, out Vector256<byte> scHi, out Vector256<short> minWords)
    {
        var sb = Vector128.Load(x);
        var sc = KQuantAvx2.Widen(sb & Vector128.Create((byte)0x0F));
        minWords = KQuantAvx2.Widen(sb >>> 4);
        scLo = X86.Avx2.Permute2x128(sc, sc, 0x00).AsByte();
        scHi = X86.Avx2.Permute2x128(sc, sc, 0x11).AsByte();
    }

    /// <summary>Chunks 2p and 2p+1 of block x (p = 0..3): the 2-bit fields 2p &amp; 3 and (2p + 1) &amp; 3 of its qs
    /// group, with their scale pairs from sc, the group's 8 scales as int16 in both halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ChunkPair Pair(byte* x, Vector256<byte> sc, [ConstantExpected] int p)
    {
        var q = Vector256.Load(x + 16 + 32 * (p / 2));   // qs group 0 holds chunks 0..3, group 1 chunks 4..7
        int s = 2 * p & 3;
        return new(KQuantAvx2.Field2(q, s), X86.Avx2.Shuffle(sc, KQuantAvx2.PairMask(s)).AsInt16(),
            KQuantAvx2.Field2(q, s + 1), X86.Avx2.Shuffle(sc, KQuantAvx2.PairMask(s + 1)).AsInt16());
    }
}
