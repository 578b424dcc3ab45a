// AVX2 Q4_K · Q8_K dots, both specs (DotQ4_KQ8_K.Reference / ReferenceBlockwise in DotFormats.cs).
//   Scales: the 12 packed bytes are unpacked with llama.cpp's 32-bit mask-and-shift sequence into 16 bytes, the
//   eight 6-bit sub-block scales then the eight mins (same values as KScales.ScaleMinK4).
//   Integer part, per 32-element chunk c = 2g + h (qs[32g..32g+31], low nibbles for h = 0, high for h = 1, all of
//   sub-block c): the nibbles stay unsigned and go straight into vpmaddubsw against the signed activations
//   (|pair| ≤ 2·15·128, no saturation, -128 works), then vpmaddwd with the chunk's scale broadcast to 16 int16 (a
//   vpshufb with a constant word index of the scales widened to int16 in both 128-bit halves) — int32 lane j =
//   elements 4j..4j+3 of the chunk times their scale, the spec's lane j; the eight chunks add up (int32 sums are
//   exact in any order). The four 64-element groups are written out (the JIT does not unroll; ~10% faster).
//   Mins: vphaddw of the 16 bsums gives the eight 32-element sums, vpmaddwd with the eight mins gives the spec's
//   four integers m[2k]·S[2k] + m[2k+1]·S[2k+1].
//   Float part, Reference: acc = fma(d, lanes, acc) in one ymm, accm = fma(dmin, mins, accm) in one xmm, per block;
//   Hsum8(acc) + ((accm0 + accm2) + (accm1 + accm3)). Blockwise: the block's lanes and mins summed to two integers,
//   then the spec's two scalar fma chains. d = d_a·fp32(d_w), dmin = −d_a·fp32(dmin_w), widened with Fp16Vector
//   (both halves from one 32-bit load), so nothing is called in the loop.
//   Decode (batch 1, blockwise): Avx2BlockwiseDecode runs the same integer work, but finishes eight super-blocks'
//   sums and scales at a time in 8-lane ops and runs the two chains as lanes 0 and 1 of one xmm (1 thread: 15.9 →
//   18.6 GB/s on 512×2048).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_KQ8_K
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        var acc = Vector256<float>.Zero;
        var accm = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            var sm = KQuantAvx2.ScalesAndMins(x->Scales);
            var lanes = LanesAvx2(x, y, sm);
            var mins = MinsAvx2(y, sm);
            var dd = HalfScales(x, y->D, -y->D);                 // (d, dmin, 0, 0)
            acc = Fma.MultiplyAdd(X86.Avx2.BroadcastScalarToVector256(dd), Avx.ConvertToVector256Single(lanes), acc);
            accm = Fma.MultiplyAdd(Sse.Shuffle(dd, dd, 0x55), Sse2.ConvertToVector128Single(mins), accm);
        }
        return IntDotAvx2.Hsum8(acc) + ((accm.GetElement(0) + accm.GetElement(2)) + (accm.GetElement(1) + accm.GetElement(3)));
    }

    public static float Avx2Blockwise(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return ReferenceBlockwise(w, a, n);
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y++)
        {
            var sm = KQuantAvx2.ScalesAndMins(x->Scales);
            BlockwiseStep(y, sm, WidenScales(x), LanesAvx2(x, y, sm), ref acc, ref accm);
        }
        return acc - accm;
    }

    /// <summary>The blockwise spec's step for one super-block and one activation row: the lanes and the mins summed to
    /// two integers (two vphaddd, one conversion), then acc = fma(sumi, d_w·d_a, acc) and accm = fma(summ,
    /// dmin_w·d_a, accm). halves = WidenScales(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockwiseStep(BlockQ8_K* y, Vector128<byte> sm, Vector128<float> halves, Vector256<int> lanes, ref float acc, ref float accm)
    {
        var dd = halves * Vector128.Create(y->D, y->D, 0, 0);
        var h = Ssse3.HorizontalAdd(lanes.GetLower() + lanes.GetUpper(), MinsAvx2(y, sm));
        var f = Sse2.ConvertToVector128Single(Ssse3.HorizontalAdd(h, h));   // (sumi, summ, sumi, summ)
        acc = MathF.FusedMultiplyAdd(f.ToScalar(), dd.ToScalar(), acc);
        accm = MathF.FusedMultiplyAdd(f.GetElement(1), dd.GetElement(1), accm);
    }

    /// <summary>y[j·yStride] = Avx2Blockwise(w, a + j·actStride, n) for j &lt; 4, bit for bit: the prompt kernel. Each
    /// super-block's scales, mins, nibbles and scale broadcasts are unpacked once for four activation rows.</summary>
    public static void Avx2BlockwiseActs4(byte* w, byte* a, long actStride, int n, float* y, long yStride)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported)
        {
            for (int j = 0; j < 4; j++) y[j * yStride] = ReferenceBlockwise(w, a + j * actStride, n);
            return;
        }
        var x = (BlockQ4_K*)w;
        var y0 = (BlockQ8_K*)a;
        var y1 = (BlockQ8_K*)(a + actStride);
        var y2 = (BlockQ8_K*)(a + 2 * actStride);
        var y3 = (BlockQ8_K*)(a + 3 * actStride);
        // Lane j of acc and accm: activation row j's two chains (a 128-bit fma is lane-wise the spec's scalar one).
        var acc = Vector128<float>.Zero;
        var accm = Vector128<float>.Zero;
        for (int i = 0; i < n / BlockQ4_K.QK; i++, x++, y0++, y1++, y2++, y3++)
        {
            var sm = KQuantAvx2.ScalesAndMins(x->Scales);
            var s16 = X86.Avx2.ConvertToVector256Int16(sm);
            var sd = X86.Avx2.Permute2x128(s16, s16, 0x00).AsByte();
            Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default;
            Group(x->Qs, sd, 0).AddLanes(y0->Qs, y1->Qs, y2->Qs, y3->Qs, ref l0, ref l1, ref l2, ref l3);
            Group(x->Qs + 32, sd, 1).AddLanes(y0->Qs + 64, y1->Qs + 64, y2->Qs + 64, y3->Qs + 64, ref l0, ref l1, ref l2, ref l3);
            Group(x->Qs + 64, sd, 2).AddLanes(y0->Qs + 128, y1->Qs + 128, y2->Qs + 128, y3->Qs + 128, ref l0, ref l1, ref l2, ref l3);
            Group(x->Qs + 96, sd, 3).AddLanes(y0->Qs + 192, y1->Qs + 192, y2->Qs + 192, y3->Qs + 192, ref l0, ref l1, ref l2, ref l3);
            // The four rows' sumi and summ, one per lane, by horizontal adds over all four at once.
            var sumi = Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(l0.GetLower() + l0.GetUpper(), l1.GetLower() + l1.GetUpper()),
                Ssse3.HorizontalAdd(l2.GetLower() + l2.GetUpper(), l3.GetLower() + l3.GetUpper()));
            var summ = Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(MinsAvx2(y0, sm), MinsAvx2(y1, sm)), Ssse3.HorizontalAdd(MinsAvx2(y2, sm), MinsAvx2(y3, sm)));
            var halves = WidenScales(x);
            var ad = Vector128.Create(y0->D, y1->D, y2->D, y3->D);
            acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(sumi), ad * Vector128.Create(halves.ToScalar()), acc);
            accm = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(summ), ad * Vector128.Create(halves.GetElement(1)), accm);
        }
        var r = acc - accm;
        y[0] = r.ToScalar();
        y[yStride] = r.GetElement(1);
        y[2 * yStride] = r.GetElement(2);
        y[3 * yStride] = r.GetElement(3);
    }

    /// <summary>Row-range product for the blockwise spec (rows % 8 == 0 matrices): decode by Avx2BlockwiseDecode,
    /// prompts four activation rows per pass over a weight row (Avx2BlockwiseActs4), leftovers by m->Dot (the
    /// table's Avx2Blockwise).</summary>
    public static void GemmAvx2Blockwise(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1 && X86.Avx2.IsSupported && Fma.IsSupported && m->Cols / BlockQ4_K.QK <= DecodeMaxBlocks) Avx2BlockwiseDecode(m, start, end);
        else MatMul.MatMul.Acts4Rows(m, start, end, &Avx2BlockwiseActs4);
    }

    private const int DecodeMaxBlocks = 512;

    /// <summary>Rows [start, end) of a batch-1 product, each bit for bit Avx2Blockwise. The single-row dot spends a
    /// third of its work per super-block on scalar-sized steps: widening d and dmin, the two horizontal adds to
    /// sumi and summ, their conversion. Here eight super-blocks at a time leave their integers half-reduced in
    /// registers, then are finished, converted and have their scales widened in 8-lane ops before the spec's two
    /// fma chains run over them in order (BlockwiseDecodeFinish8). The activation's per-super-block parts (d, and
    /// the 32-element sums of its bsums) are read once per call, not once per row.</summary>
    [SkipLocalsInit]   // every buffer is written before it is read
    private static void Avx2BlockwiseDecode(MatMulArgs* m, int start, int end)
    {
        const int G = 8;
        int nb = m->Cols / BlockQ4_K.QK, padded = (nb + G - 1) & ~(G - 1);
        var y = (BlockQ8_K*)m->Act;
        float* da = stackalloc float[padded];
        var sums = stackalloc Vector128<short>[nb];
        for (int k = 0; k < nb; k++)
        {
            da[k] = y[k].D;
            sums[k] = SubBlockSums(y + k);
        }
        for (int k = nb; k < padded; k++) da[k] = 0;
        for (int r = start; r < end; r++)
        {
            var x = (BlockQ4_K*)(m->W + r * m->RowBytes);
            var v = Vector128<float>.Zero;   // (acc, accm, ·, ·)
            for (int g = 0; g < nb; g += G)
            {
                int count = Math.Min(G, nb - g);
                v = BlockwiseDecodeFinish8(x, da, g, count, BlockwiseDecodeParts4(x, y, sums, g, count),
                    BlockwiseDecodeParts4(x, y, sums, g + 4, count - 4), v);
            }
            m->Y[r] = v.ToScalar() - v.GetElement(1);
        }
    }

    /// <summary>Super-blocks k, k+2 | k+1, k+3 as (sumi, summ, sumi, summ) in each 128-bit half; those past
    /// count are zero. Its own method: eight parts inlined into the row loop exhaust the JIT's inlining budget, and
    /// the vector helpers after them become calls.</summary>
    private static Vector256<int> BlockwiseDecodeParts4(BlockQ4_K* x, BlockQ8_K* y, Vector128<short>* sums, int k, int count)
    {
        var h0 = count > 0 ? DecodePart(x, y, sums, k) : Vector128<int>.Zero;
        var h1 = count > 1 ? DecodePart(x, y, sums, k + 1) : Vector128<int>.Zero;
        var h2 = count > 2 ? DecodePart(x, y, sums, k + 2) : Vector128<int>.Zero;
        var h3 = count > 3 ? DecodePart(x, y, sums, k + 3) : Vector128<int>.Zero;
        return X86.Avx2.HorizontalAdd(Vector256.Create(h0, h1), Vector256.Create(h2, h3));
    }

    /// <summary>(lanes 0+4 + lanes 1+5, lanes 2+6 + lanes 3+7, mins 0+1, mins 2+3) of super-block j: sumi is the sum
    /// of the first two, summ of the last two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> DecodePart(BlockQ4_K* x, BlockQ8_K* y, Vector128<short>* sums, int j)
    {
        IntDotAvx2.PrefetchAhead((byte*)(x + j), 3);   // 144-byte blocks
        var sm = KQuantAvx2.ScalesAndMins(x[j].Scales);
        var lanes = LanesAvx2(x + j, y + j, sm);
        return Ssse3.HorizontalAdd(lanes.GetLower() + lanes.GetUpper(), MinsAvx2(sm, sums[j]));
    }

    /// <summary>The spec's two chains over super-blocks g .. g + count − 1 (count ≤ 8; parts past count are zero),
    /// as lanes 0 and 1 of v: sumi and summ finished and converted, d_w·d_a and dmin_w·d_a formed, eight at a time;
    /// then one 128-bit fma per super-block, lane-wise the scalar fmas of the spec. (Accumulators passed by ref
    /// would live in memory, and each step would wait on the last one's store.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> BlockwiseDecodeFinish8(BlockQ4_K* x, float* da, int g, int count, Vector256<int> parts0, Vector256<int> parts4, Vector128<float> v)
    {
        // (sumi, summ) of g, g+2 | g+1, g+3 and of g+4, g+6 | g+5, g+7: split, then put in order.
        var p = parts0.AsSingle();
        var q = parts4.AsSingle();
        var natural = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        var fs = Avx.ConvertToVector256Single(X86.Avx2.PermuteVar8x32(Avx.Shuffle(p, q, 0x88).AsInt32(), natural));
        var fu = Avx.ConvertToVector256Single(X86.Avx2.PermuteVar8x32(Avx.Shuffle(p, q, 0xDD).AsInt32(), natural));
        var w = IntDotAvx2.Words8((byte*)(x + g), sizeof(BlockQ4_K), count);   // d_w in the low half, dmin_w high
        var a = Vector256.Load(da + g);
        var fd = Fp16Vector.HalfHiToSingleArithNormalFirst(w << 16) * a;
        var fm = Fp16Vector.HalfHiToSingleArithNormalFirst(w & Vector256.Create(unchecked((int)0xFFFF0000))) * a;
        // Pairs (sumi_k, summ_k) and (d_k, dmin_k): k = 0, 1 | 4, 5 in the low unpacks, 2, 3 | 6, 7 in the high ones.
        var sl = Avx.UnpackLow(fs, fu);
        var sh = Avx.UnpackHigh(fs, fu);
        var dl = Avx.UnpackLow(fd, fm);
        var dh = Avx.UnpackHigh(fd, fm);
        v = ChainPairs(sl.GetLower(), dl.GetLower(), v, count);
        if (count > 2) v = ChainPairs(sh.GetLower(), dh.GetLower(), v, count - 2);
        if (count > 4) v = ChainPairs(sl.GetUpper(), dl.GetUpper(), v, count - 4);
        if (count > 6) v = ChainPairs(sh.GetUpper(), dh.GetUpper(), v, count - 6);
        return v;
    }

    /// <summary>v = fma(s, d, v) on lanes 0, 1, then (if left &gt; 1) on lanes 2, 3 moved down.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ChainPairs(Vector128<float> s, Vector128<float> d, Vector128<float> v, int left)
    {
        v = Fma.MultiplyAdd(s, d, v);
        return left > 1 ? Fma.MultiplyAdd(Sse.MoveHighToLow(s, s), Sse.MoveHighToLow(d, d), v) : v;
    }

    /// <summary>(d_a1·fp32(d_w), d_a2·fp32(dmin_w), ·, ·) from the block's two fp16 fields; portable Vector128
    /// operators only, so every path shares it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfScales(BlockQ4_K* x, float da1, float da2) => WidenScales(x) * Vector128.Create(da1, da2, 0, 0);

    /// <summary>(fp32(d_w), fp32(dmin_w), 0, 0): both fp16 fields from one 32-bit load.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> WidenScales(BlockQ4_K* x) => Fp16Vector.HalfPairToSingle((byte*)x);

    /// <summary>The eight 6-bit scales (bytes 0..7) and mins (bytes 8..15) of a block (get_scale_min_k4) in scalar
    /// integer ops, for the v128 and NEON paths (the AVX2 kernels use KQuantAvx2.ScalesAndMins, the same bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ScalesAndMins(BlockQ4_K* x)
    {
        const uint Kmask1 = 0x3f3f3f3f, Kmask2 = 0x0f0f0f0f, Kmask3 = 0x03030303;
        uint* p = (uint*)x->Scales;
        uint u0 = p[0], u1 = p[1], u2 = p[2];
        uint m47 = ((u2 >> 4) & Kmask2) | (((u1 >> 6) & Kmask3) << 4);
        uint d47 = (u2 & Kmask2) | (((u0 >> 6) & Kmask3) << 4);
        return Vector128.Create(u0 & Kmask1, d47, u1 & Kmask1, m47).AsByte();
    }

    /// <summary>The spec's four min integers m[2k]·S[2k] + m[2k+1]·S[2k+1], S[j] the activation sums of sub-block j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinsAvx2(BlockQ8_K* y, Vector128<byte> sm) => MinsAvx2(sm, SubBlockSums(y));

    /// <summary>MinsAvx2 from the activation block's sub-block sums S (SubBlockSums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinsAvx2(Vector128<byte> sm, Vector128<short> s) =>
        Sse2.MultiplyAddAdjacent(Sse2.UnpackHigh(sm, Vector128<byte>.Zero).AsInt16(), s);

    /// <summary>S[j], the eight 32-element sums of an activation block (its 16-element bsums added in pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> SubBlockSums(BlockQ8_K* y)
    {
        var bs = Vector256.Load(y->BSums);
        return Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper());
    }

    /// <summary>The spec's 8 int32 lanes of one super-block pair (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LanesAvx2(BlockQ4_K* x, BlockQ8_K* y, Vector128<byte> sm)
    {
        var s16 = X86.Avx2.ConvertToVector256Int16(sm);                  // d0..d7 | m0..m7 as int16
        var sd = X86.Avx2.Permute2x128(s16, s16, 0x00).AsByte();         // d0..d7 in both halves
        byte* qs = x->Qs;
        sbyte* q8 = y->Qs;
        return (GroupAvx2(qs, q8, sd, 0) + GroupAvx2(qs + 32, q8 + 64, sd, 1))
            + (GroupAvx2(qs + 64, q8 + 128, sd, 2) + GroupAvx2(qs + 96, q8 + 192, sd, 3));
    }

    /// <summary>Lanes of chunks 2g (low nibbles) and 2g+1 (high nibbles), each times its scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> GroupAvx2(byte* qs, sbyte* q8, Vector256<byte> sd, [ConstantExpected] int g) =>
        Group(qs, sd, g).Lanes(q8);

    /// <summary>Group g's nibbles (chunk 2g low, 2g+1 high) and their two scales broadcast to int16 (vpshufb with the
    /// constant word index of sd), unpacked once however many activation rows use them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ChunkPair Group(byte* qs, Vector256<byte> sd, [ConstantExpected] int g)
    {
        var lowNibble = Vector256.Create((byte)0x0F);
        var q = Vector256.Load(qs);
        return new ChunkPair(q & lowNibble, X86.Avx2.Shuffle(sd, Vector256.Create((short)(0x0100 + 0x0404 * g)).AsByte()).AsInt16(),
            (q.AsUInt16() >>> 4).AsByte() & lowNibble, X86.Avx2.Shuffle(sd, Vector256.Create((short)(0x0302 + 0x0404 * g)).AsByte()).AsInt16());
    }
}
