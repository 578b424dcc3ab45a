// AVX2 Q4_0 · Q8_0 dots, both specs (helpers in DotQ8_0Q8_0.Avx2.cs).
//   Integer part: the nibbles stay unsigned 0..15 and go straight into vpmaddubsw; the "− 8" is subtracted once per
//   int16 pair as 8·(a_i + a_i+1) (Σ (n − 8)·a = Σ n·a − 8·Σ a, exact in int16), and that term depends only on the
//   activation, so the multi-row kernels form it once per block for all rows.
//   Reference (llama.cpp's 8-lane order): OffsetDotAvx2<Q4_0Avx2> in LegacyLanes.cs, shared with Q5_0.
//   ReferenceBlockwise (llama.cpp's q4_0_8x8 repack order): sumi of a whole block, then acc = fma(sumi, d, acc). The
//   single row reduces four blocks' lanes together (IntDotAvx2.Reduce4) and runs the scalar fma chain in block order.
//   BlockwiseRows8 gives each of eight rows one float lane: its sumi, its d and its accumulator — each lane sees
//   exactly the single-row chain, and one ymm fma advances all eight (this is what the repacked layout does).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_0Q8_0
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        return OffsetDotAvx2<Q4_0Avx2>.Dot(w, a, n);
    }

    /// <summary>The 8 spec lanes of one block pair (AVX2; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes(byte* x, byte* y)
    {
        var yv = Vector256.Load((sbyte*)(y + 2));
        return IntDotAvx2.Q4Lanes(IntDotAvx2.Nibbles(x + 2), yv, IntDotAvx2.Eights(yv));
    }

    /// <summary>y[r] = Avx2(w + r·rowBytes, a, n) for r &lt; 4, bit for bit (the 8-lane kernel is shared with Q5_0:
    /// OffsetDotAvx2 in LegacyLanes.cs).</summary>
    public static void Avx2Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx2(w + r * rowBytes, a, n);
            return;
        }
        OffsetDotAvx2<Q4_0Avx2>.Rows4(w, rowBytes, a, n, y);
    }

    public static float Avx2Blockwise(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return ReferenceBlockwise(w, a, n);
        const int Q4 = IntDotAvx2.Q4, Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ4_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        float acc = 0;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * Q4, y = a + b0 * Q8;
            IntDotAvx2.Scales8(x, Q4, y, count).Store(d);
            int k = 0;
            for (; k + 4 <= count; k += 4, x += 4 * Q4, y += 4 * Q8)
            {
                var c = IntDotAvx2.Reduce4(Lanes(x, y), Lanes(x + Q4, y + Q8), Lanes(x + 2 * Q4, y + 2 * Q8), Lanes(x + 3 * Q4, y + 3 * Q8));
                var s = Vector128.ConvertToSingle(c.GetLower() + c.GetUpper());   // sumi of blocks k..k+3
                acc = MathF.FusedMultiplyAdd(s.GetElement(0), d[k], acc);
                acc = MathF.FusedMultiplyAdd(s.GetElement(1), d[k + 1], acc);
                acc = MathF.FusedMultiplyAdd(s.GetElement(2), d[k + 2], acc);
                acc = MathF.FusedMultiplyAdd(s.GetElement(3), d[k + 3], acc);
            }
            for (; k < count; k++, x += Q4, y += Q8) acc = MathF.FusedMultiplyAdd(Vector256.Sum(Lanes(x, y)), d[k], acc);
        }
        return acc;
    }

    /// <summary>y[r] = Avx2Blockwise(w + r·rowBytes, a, n) for r &lt; 8, bit for bit: float lane r is row r.</summary>
    public static void Avx2BlockwiseRows8(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 8)
        {
            for (int r = 0; r < 8; r++) y[r] = Avx2Blockwise(w + r * rowBytes, a, n);
            return;
        }
        const int Q4 = IntDotAvx2.Q4, Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ4_0.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        long rb = rowBytes;
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * Q8, Q8, count).Store(da);
            for (int k = 0, ow = b0 * Q4, oa = b0 * Q8; k < count; k++, ow += Q4, oa += Q8)
            {
                byte* ab = a + oa + 2;
                var alo = X86.Avx2.BroadcastVector128ToVector256((sbyte*)ab);
                var ahi = X86.Avx2.BroadcastVector128ToVector256((sbyte*)(ab + 16));
                var e = IntDotAvx2.Eights(alo) + IntDotAvx2.Eights(ahi);
                byte* p = w + ow + 2;
                var v0 = Pair(p, p + 4 * rb, alo, ahi, e);
                var v1 = Pair(p + rb, p + 5 * rb, alo, ahi, e);
                var v2 = Pair(p + 2 * rb, p + 6 * rb, alo, ahi, e);
                var v3 = Pair(p + 3 * rb, p + 7 * rb, alo, ahi, e);
                var sumi = Avx.ConvertToVector256Single(IntDotAvx2.Reduce4(v0, v1, v2, v3));   // rows 0..7
                acc = Fma.MultiplyAdd(sumi, IntDotAvx2.Halves8(w + ow, rb, IntDotAvx2.Group) * Vector256.Create(da[k]), acc);
            }
        }
        acc.Store(y);

        // Rows p (low half) and q (high half): four int32 per half whose sum is the row's sumi.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<int> Pair(byte* p, byte* q, Vector256<sbyte> alo, Vector256<sbyte> ahi, Vector256<short> e)
        {
            var v = Vector256.Create(Vector128.Load(p), Vector128.Load(q));
            var m = Vector256.Create((byte)0x0F);
            var s = X86.Avx2.MultiplyAddAdjacent(v & m, alo) + X86.Avx2.MultiplyAddAdjacent((v.AsUInt16() >>> 4).AsByte() & m, ahi);
            return X86.Avx2.MultiplyAddAdjacent(s - e, Vector256<short>.One);
        }
    }

    /// <summary>Row-range product (MatMulArgs contract) for the 8-lane spec, in tiles of Avx2Rows4.</summary>
    public static void GemmAvx2(MatMulArgs* m, int start, int end) => IntGemm.Tiled(m, start, end, 4, &Avx2Rows4, &Avx2);

    /// <summary>Row-range product for the blockwise spec (rows % 8 == 0 matrices): decode through DecodeRowAvx2,
    /// prompts in tiles of Avx2BlockwiseRows8.</summary>
    public static void GemmAvx2Blockwise(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1 && X86.Avx2.IsSupported && Fma.IsSupported) BlockwiseDecode<DecodeRowAvx2>(m, start, end, &Avx2Blockwise);
        else IntGemm.Tiled(m, start, end, 8, &Avx2BlockwiseRows8, &Avx2Blockwise);
    }

    /// <summary>Blockwise decode terms of a row pair (DotQ4_0Q8_0.Decode.cs), one row after the other, eight blocks a
    /// step: a block pair's nibble arrays in one ymm against the prepared activation's matching halves;
    /// IntDotAvx2.Reduce4 leaves block 2i in lane i and 2i + 1 in lane 4 + i, put back in block order by one vpermd.</summary>
    private struct DecodeRowAvx2 : IQ4_0DecodeRows
    {
        public static void Terms2(byte* x0, byte* x1, int nb, sbyte* aq, float* da, int* eights, float* s, float* d, long next)
        {
            Terms(x0, nb, aq, da, eights, s, d);
            Terms(x1, nb, aq, da, eights, s + next, d + next);
        }

        private static void Terms(byte* x, int nb, sbyte* aq, float* da, int* eights, float* s, float* d)
        {
            const int Q4 = IntDotAvx2.Q4, G = IntDotAvx2.Group;
            var mask = Vector256.Create((byte)0x0F);
            var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
            for (int g = 0; g < nb; g += G, x += G * Q4)
            {
                IntDotAvx2.PrefetchAheadL2(x, 3);
                (IntDotAvx2.Halves8(x, Q4, G) * Vector256.Load(da + g)).Store(d + g);
                sbyte* y = aq + 32 * g;
                var c = IntDotAvx2.Reduce4(Pair(x, y, mask), Pair(x + 2 * Q4, y + 32, mask), Pair(x + 4 * Q4, y + 128, mask), Pair(x + 6 * Q4, y + 160, mask));
                var sumi = X86.Avx2.PermuteVar8x32(c, order) - Vector256.Load(eights + g);
                Avx.ConvertToVector256Single(sumi).Store(s + g);
            }
        }

        // Σ n·q_a of blocks x and x + 1 as four int32 per 128-bit half (the activation's low-nibble partners at y,
        // high-nibble partners at y + 64).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Pair(byte* x, sbyte* y, Vector256<byte> mask)
        {
            var q = Vector256.Create(Vector128.Load(x + 2), Vector128.Load(x + IntDotAvx2.Q4 + 2));
            var lo = q & mask;
            var hi = (q.AsUInt16() >>> 4).AsByte() & mask;
            var p = X86.Avx2.MultiplyAddAdjacent(lo, Vector256.Load(y)) + X86.Avx2.MultiplyAddAdjacent(hi, Vector256.Load(y + 64));
            return X86.Avx2.MultiplyAddAdjacent(p, Vector256<short>.One);
        }
    }
}
