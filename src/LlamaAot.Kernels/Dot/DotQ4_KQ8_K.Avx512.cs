// AVX-512 Q4_K · Q8_K prompt kernel for the blockwise spec (DotQ4_KQ8_K.ReferenceBlockwise): sixteen weight rows
// against eight (then four, two, one) activation rows, one weight row per int32 lane — the layout of the Q4_0
// prompt kernel (IntDotAvx512.RowPieces), here with the super-block's sub-block scales and mins.
//   Per tile and super-block, once for all activation rows: each row's scales and mins unpacked (ScalesAndMins) and
//   laid out by lane — scale c of row i as the int16 pair (sc, sc) in lane i of vector c, mins of sub-blocks 2p and
//   2p+1 as the pair (m_2p, m_2p+1) in lane i of vector p — and d, dmin widened to fp32 by lane.
//   Also once per tile, into the same table: per 16 bytes of quants (sixteen rows), RowPieces, then the low and high
//   nibbles of the four pieces (elements of sub-blocks 2p and 2p+1); once per eight activation rows cost 14%.
//   Each activation row's pieces are broadcast; the four vpmaddubsw of each sub-block add in int16 (8 products of a
//   4-bit and an 8-bit value, ≤ 8·15·128), vpmaddwd with the sub-block's scale pairs gives scale·Σ in int32 lane i,
//   and these add up to the super-block's sumi (exact in any order). summ: the activation's sub-block sums S
//   (SubBlockSums) in int16 pairs, four vpmaddwd against the min pairs. Then the spec's two fma chains,
//   acc = fma(sumi, d_w·d_a, acc) and accm = fma(summ, dmin_w·d_a, accm), lane-wise — the same bits as the scalar
//   chains of the other paths.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_KQ8_K
{
    /// <summary>Super-blocks per row the prompt tiles take (their per-tile scale tables live on the stack).</summary>
    private const int TileMaxBlocks = 64;

    /// <summary>Per super-block of a 16-row tile: 8 scale-pair vectors, 4 min vectors, d and dmin, 8 int32 scale vectors
    /// (for the VNNI tile), then the quants unpacked (Vector512 each).</summary>
    private const int TableVectors = VnniTiles.Q4_KTableVectors, QuantsAt = VnniTiles.Q4_KQuantsAt;

    /// <summary>Row-range product for the blockwise spec on the AVX-512 path: decode as on AVX2
    /// (Avx2BlockwiseDecode), prompts in tiles of sixteen weight rows (Avx512BlockwiseTile16), leftover rows by the
    /// single-row dot.</summary>
    public static void GemmAvx512Blockwise(MatMulArgs* m, int start, int end)
    {
        if (m->Batch > 1 && Avx512BW.IsSupported && X86.Avx2.IsSupported && Fma.IsSupported && m->Cols / BlockQ4_K.QK <= TileMaxBlocks
            && m->RowBytes <= int.MaxValue / 16)
        {
            IntGemm.Tiled(m, start, end, 16, &Avx512BlockwiseTile16, null, 0, 0, null, &Avx2Blockwise);
        }
        else GemmAvx2Blockwise(m, start, end);
    }

    /// <summary>Super-blocks per row VnniBlockwiseDecode takes (its buffers live on the stack: 32 KiB of activation
    /// quants at most); longer rows decode as on AVX2, with the same bits.</summary>
    private const int VnniDecodeMaxBlocks = 128;

    /// <summary>GemmAvx512Blockwise with emitted code where it is in place: decode through VnniBlockwiseDecode
    /// (Jit/VnniDecode.cs), the prompt tiles' groups of eight and four activation rows in VNNI code (Jit/VnniTiles.cs).</summary>
    public static void GemmAvx512VnniBlockwise(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1 && VnniDecode.Available && X86.Avx2.IsSupported && Fma.IsSupported && m->Cols / BlockQ4_K.QK <= VnniDecodeMaxBlocks)
        {
            VnniBlockwiseDecode(m, start, end);
            return;
        }
        if (m->Batch > 1 && VnniTiles.Available && m->Cols / BlockQ4_K.QK <= TileMaxBlocks && m->RowBytes <= int.MaxValue / 16)
        {
            IntGemm.Tiled(m, start, end, 16, &Avx512VnniTile16, &ActivationTerms, VnniTiles.Q4_KTermsPerBlock / 8 * (m->Cols / BlockQ4_K.QK),
                0, null, &Avx2Blockwise);
        }
        else GemmAvx512Blockwise(m, start, end);
    }

    /// <summary>Rows [start, end) of a batch-1 product, each bit for bit Avx2Blockwise, taken as two streams
    /// (MatMul.TwoStreamRow): per row, the emitted kernel (Jit/VnniDecode.cs) runs the spec's two chains, acc and accm,
    /// over its groups of four super-blocks, and DecodePart's (sumi, summ) pairs continue them over the last nb mod 4.
    /// The activation's parts (its quants in the kernel's sub-block order, its sub-block sums zero-extended to int32,
    /// d_a twice) are formed once per call. Callers check VnniDecode.Available, Avx2, Fma and
    /// nb ≤ VnniDecodeMaxBlocks.</summary>
    [SkipLocalsInit]   // every buffer is written before it is read
    private static void VnniBlockwiseDecode(MatMulArgs* m, int start, int end)
    {
        int nb = m->Cols / BlockQ4_K.QK, groups = nb / 4;
        var y = (BlockQ8_K*)m->Act;
        var sums = stackalloc Vector128<short>[nb];
        int* wide = stackalloc int[8 * nb];
        float* dpairs = stackalloc float[2 * nb];
        for (int k = 0; k < nb; k++)
        {
            sums[k] = SubBlockSums(y + k);
            X86.Avx2.ConvertToVector256Int32(sums[k].AsUInt16()).Store(wide + 8 * k);   // (S, 0) word pairs
            dpairs[2 * k] = dpairs[2 * k + 1] = y[k].D;
        }
        byte* raw = stackalloc byte[VnniDecode.Q4_KActBytes * 4 * groups + 63];
        byte* act = IntDotAvx512.Align64(raw);
        for (int k = 0; k < 4 * groups; k++) VnniDecode.PrepareQ4_KActivation(y[k].Qs, act + VnniDecode.Q4_KActBytes * k);
        float* scales = stackalloc float[10];   // Q4_KDecodeArgs.Scales: 40 bytes
        float* chain = stackalloc float[4];
        var args = new Q4_KDecodeArgs
        {
            Groups = groups, Act = act, Sums = wide, DPairs = dpairs, Scales = scales, Chain = chain, Constants = VnniDecode.ConstantTable,
        };
        for (int i = 0; i < end - start; i++) VnniDecodeRow(m, MatMul.MatMul.TwoStreamRow(start, end, i), &args, sums);
    }

    /// <summary>VnniBlockwiseDecode's row r: the kernel's groups and their chains, then DecodePart's rest.</summary>
    private static void VnniDecodeRow(MatMulArgs* m, int r, Q4_KDecodeArgs* args, Vector128<short>* sums)
    {
        int nb = m->Cols / BlockQ4_K.QK, groups = (int)args->Groups;
        var y = (BlockQ8_K*)m->Act;
        var x = (BlockQ4_K*)(m->W + r * m->RowBytes);
        var v = Vector128<float>.Zero;   // (acc, accm, 0, 0)
        if (groups > 0)
        {
            Vector128<float>.Zero.Store(args->Chain);
            args->X = (byte*)x;
            VnniDecode.Q4_KTerms(args);
            v = Vector128.Create(args->Chain[0], args->Chain[1], 0f, 0);
        }
        for (int k = 4 * groups; k < nb; k++)
        {
            var h = DecodePart(x, y, sums, k);
            var terms = Vector128.Create((float)(h.GetElement(0) + h.GetElement(1)), h.GetElement(2) + h.GetElement(3), 0, 0);
            v = Fma.MultiplyAdd(terms, WidenScales(x + k) * Vector128.Create(y[k].D), v);
        }
        m->Y[r] = v.ToScalar() - v.GetElement(1);
    }

    /// <summary>IntGemm's per-batch-tile preparation for Avx512VnniTile16 (Q4_KTileArgs.Terms): for activation rows
    /// b0 + 8g + j, the terms of group g hold per super-block k fp32 d_a at [40k + j] and the sub-block sum pairs
    /// (SubBlockSums) at [40k + 8 + 4j + q].</summary>
    private static void ActivationTerms(MatMulArgs* m, int b0, int b1, int* state)
    {
        const int T = VnniTiles.Q4_KTermsPerBlock;
        int nb = m->Cols / BlockQ4_K.QK;
        for (int b = b0; b < b1; b++)
        {
            var y = (BlockQ8_K*)(m->Act + b * m->ActRowBytes);
            int j = (b - b0) % 8;
            int* t = state + (b - b0) / 8 * T * nb;
            for (int k = 0; k < nb; k++, t += T)
            {
                ((float*)t)[j] = y[k].D;
                SubBlockSums(y + k).AsInt32().Store(t + 8 + 4 * j);
            }
        }
    }

    /// <summary>Avx512BlockwiseTile16 with groups of eight and four activation rows in the emitted tile.</summary>
    private static void Avx512VnniTile16(MatMulArgs* m, int r, int b0, int b1, int* terms) => Tile16(m, r, b0, b1, terms);

    /// <summary>Y[b, r..r+16) for activation rows b in [b0, b1), each bit for bit ReferenceBlockwise.</summary>
    private static void Avx512BlockwiseTile16(MatMulArgs* m, int r, int b0, int b1, int* state) => Tile16(m, r, b0, b1, null);

    /// <summary>The prompt tile: with terms (ActivationTerms) groups of eight and four activation rows go to the emitted
    /// VNNI tile, the rest (all rows, without terms) to TileRows.</summary>
    [SkipLocalsInit]   // the table is written in full before any read
    private static void Tile16(MatMulArgs* m, int r, int b0, int b1, int* terms)
    {
        int nb = m->Cols / BlockQ4_K.QK;
        long rb = m->RowBytes;
        byte* w = m->W + r * rb;
        var table = stackalloc Vector512<int>[TableVectors * nb];
        for (int k = 0; k < nb; k++)
        {
            TableEntry(w + k * sizeof(BlockQ4_K), rb, table + TableVectors * k);
            Quants(w + k * sizeof(BlockQ4_K) + 16, rb, table + TableVectors * k + QuantsAt);
        }
        int b = b0;
        if (terms != null)
        {
            long ars = m->ActRowBytes;
            var chains = stackalloc Vector512<float>[16];   // acc and accm of each activation row
            byte* next = w + 16 * rb;   // the next weight tile, prefetched over the runs
            for (int parts = (b1 - b0 + 7) / 8; b + 4 <= b1;)
            {
                IntDotAvx512.PrefetchPart(next, 16 * rb, (b - b0) / 8, parts);
                int acts = b + 8 <= b1 ? 8 : 4;
                for (int i = 0; i < 2 * acts; i++) chains[i] = Vector512<float>.Zero;
                // Activation rows come in groups of eight from b0, so a group of four starts a group of the terms.
                var args = new Q4_KTileArgs
                {
                    Table = (byte*)table, Terms = (byte*)(terms + (b - b0) / 8 * VnniTiles.Q4_KTermsPerBlock * nb),
                    Act = m->Act + b * ars + 4, ActRowBytes = ars, Blocks = nb, Chains = (float*)chains,
                };
                VnniTiles.Q4_K(&args, acts);
                float* y = m->Y + b * m->YStride + r;
                for (int j = 0; j < acts; j++) (chains[2 * j] - chains[2 * j + 1]).Store(y + j * m->YStride);
                b += acts;
            }
        }
        TileActs.Run<Rows>(m, r, table, b0, b, b1, nb);
    }

    private struct Rows : ITileRows
    {
        public static void Run<TActs>(MatMulArgs* m, int r, Vector512<int>* table, int b, int nb) where TActs : struct, IActRows =>
            TileRows<TActs>(m, r, table, b, nb);
    }

    /// <summary>One super-block's table entry for the sixteen rows rb apart at x: t[c] lane i = (sc_c, sc_c) of row i
    /// as int16, t[8 + p] lane i = (m_2p, m_2p+1), t[12] and t[13] lane i = fp32 d and dmin of row i, t[14 + c] lane
    /// i = sc_c as int32. The 12 scale bytes come in by lane through RowPieces and are unpacked with ScalesAndMins's
    /// mask-and-shift sequence, sixteen rows at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TableEntry(byte* x, long rb, Vector512<int>* t)
    {
        IntDotAvx512.RowPieces(x + 4, rb, out var p0, out var p1, out var p2, out _);
        var u0 = p0.AsUInt32();
        var u1 = p1.AsUInt32();
        var u2 = p2.AsUInt32();
        var six = Vector512.Create(0x3f3f3f3fu);
        var low4 = Vector512.Create(0x0f0f0f0fu);
        var top2 = Vector512.Create(0x03030303u);
        var scales03 = u0 & six;
        var mins03 = u1 & six;
        var scales47 = (u2 & low4) | (((u0 >>> 6) & top2) << 4);
        var mins47 = ((u2 >>> 4) & low4) | (((u1 >>> 6) & top2) << 4);
        var lowByte = Vector512.Create(0xffu);
        for (int c = 0; c < 4; c++)
        {
            var lo = (scales03 >>> (8 * c)) & lowByte;
            var hi = (scales47 >>> (8 * c)) & lowByte;
            t[c] = (lo | (lo << 16)).AsInt32();
            t[4 + c] = (hi | (hi << 16)).AsInt32();
            t[VnniTiles.Q4_KScalesAt + c] = lo.AsInt32();
            t[VnniTiles.Q4_KScalesAt + 4 + c] = hi.AsInt32();
        }
        t[8] = Pair(mins03);
        t[9] = Pair(mins03 >>> 16);
        t[10] = Pair(mins47);
        t[11] = Pair(mins47 >>> 16);
        var d = (float*)(t + 12);
        IntDotAvx2.Halves8(x, rb, 8).Store(d);
        IntDotAvx2.Halves8(x + 8 * rb, rb, 8).Store(d + 8);
        IntDotAvx2.Halves8(x + 2, rb, 8).Store(d + 16);
        IntDotAvx2.Halves8(x + 2 + 8 * rb, rb, 8).Store(d + 24);

        // Bytes 0 and 1 of each lane as the int16 pair (b0, b1).
        static Vector512<int> Pair(Vector512<uint> v) => ((v & Vector512.Create(0xffu)) | ((v << 8) & Vector512.Create(0xff0000u))).AsInt32();
    }

    /// <summary>The quants of one super-block of the sixteen rows rb apart at x, unpacked once for all activation rows:
    /// for each 16 bytes h of a row (elements 16(h&amp;1)+… of sub-blocks 2p and 2p+1, p = h/2), t[8h + c] lane i holds the
    /// low nibbles of row i's 4-byte piece c and t[8h + 4 + c] its high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants(byte* x, long rb, Vector512<int>* t)
    {
        var mask = Vector512.Create((byte)0x0F);
        var q = (Vector512<byte>*)t;
        for (int h = 0; h < 8; h++, q += 8)
        {
            IntDotAvx512.RowPieces(x + 32 * (h >> 1) + 16 * (h & 1), rb, out var u0, out var u1, out var u2, out var u3);
            q[0] = u0 & mask; q[4] = (u0.AsUInt16() >>> 4).AsByte() & mask;
            q[1] = u1 & mask; q[5] = (u1.AsUInt16() >>> 4).AsByte() & mask;
            q[2] = u2 & mask; q[6] = (u2.AsUInt16() >>> 4).AsByte() & mask;
            q[3] = u3 & mask; q[7] = (u3.AsUInt16() >>> 4).AsByte() & mask;
        }
    }

    /// <summary>Avx512BlockwiseTile16 for weight rows r..r+16 and activation rows b..b+TActs.Count.</summary>
    [SkipLocalsInit]
    private static void TileRows<TActs>(MatMulArgs* m, int r, Vector512<int>* table, int b, int nb) where TActs : struct, IActRows
    {
        long ars = m->ActRowBytes;
        byte* a0 = m->Act + b * ars + 4;   // the quants of super-block 0 (past d)
        // acc and accm of activation row j: chains[2j], chains[2j + 1] (lane i = weight row i).
        var chains = stackalloc Vector512<float>[2 * TActs.Count];
        for (int j = 0; j < 2 * TActs.Count; j++) chains[j] = Vector512<float>.Zero;
        for (int k = 0; k < nb; k++, a0 += sizeof(BlockQ8_K))
        {
            Vector512<int>* t = table + TableVectors * k;
            Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (int h = 0; h < 8; h++)
            {
                // 16 bytes of quants: pieces of elements 16(h&1)+4c.. of sub-block 2p (low nibbles) and 2p+1 (high).
                int p = h >> 1, half = 16 * (h & 1);
                var u = (Vector512<byte>*)(t + QuantsAt + 8 * h);
                var l0 = u[0]; var l1 = u[1]; var l2 = u[2]; var l3 = u[3];
                var h0 = u[4]; var h1 = u[5]; var h2 = u[6]; var h3 = u[7];
                var scl = t[2 * p].AsInt16();
                var sch = t[2 * p + 1].AsInt16();
                byte* q = a0 + 64 * p + half;
                s0 += Step(q, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                if (TActs.Count > 1) s1 += Step(q + ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                if (TActs.Count > 2)
                {
                    s2 += Step(q + 2 * ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                    s3 += Step(q + 3 * ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                }
                if (TActs.Count > 4)
                {
                    s4 += Step(q + 4 * ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                    s5 += Step(q + 5 * ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                    s6 += Step(q + 6 * ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                    s7 += Step(q + 7 * ars, l0, l1, l2, l3, h0, h1, h2, h3, scl, sch);
                }
            }
            var dw = ((Vector512<float>*)t)[12];
            var dminw = ((Vector512<float>*)t)[13];
            Finish(a0, t, s0, dw, dminw, chains);
            if (TActs.Count > 1) Finish(a0 + ars, t, s1, dw, dminw, chains + 2);
            if (TActs.Count > 2)
            {
                Finish(a0 + 2 * ars, t, s2, dw, dminw, chains + 4);
                Finish(a0 + 3 * ars, t, s3, dw, dminw, chains + 6);
            }
            if (TActs.Count > 4)
            {
                Finish(a0 + 4 * ars, t, s4, dw, dminw, chains + 8);
                Finish(a0 + 5 * ars, t, s5, dw, dminw, chains + 10);
                Finish(a0 + 6 * ars, t, s6, dw, dminw, chains + 12);
                Finish(a0 + 7 * ars, t, s7, dw, dminw, chains + 14);
            }
        }
        float* y = m->Y + b * m->YStride + r;
        for (int j = 0; j < TActs.Count; j++) (chains[2 * j] - chains[2 * j + 1]).Store(y + j * m->YStride);

        // One activation row's 16 quants (q) against the sixteen rows' pieces: scale·Σ of sub-block 2p's and 2p+1's
        // products, by lane.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<int> Step(byte* q, Vector512<byte> l0, Vector512<byte> l1, Vector512<byte> l2, Vector512<byte> l3,
            Vector512<byte> h0, Vector512<byte> h1, Vector512<byte> h2, Vector512<byte> h3, Vector512<short> scl, Vector512<short> sch)
        {
            var lo = IntDotAvx512.PieceSums(l0, l1, l2, l3, q);
            var hi = IntDotAvx512.PieceSums(h0, h1, h2, h3, q + 32);
            return Avx512BW.MultiplyAddAdjacent(lo, scl) + Avx512BW.MultiplyAddAdjacent(hi, sch);
        }

        // The super-block's end for one activation row (q: its quants): summ from the min pairs and the sub-block
        // sums, then the spec's two fmas.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Finish(byte* q, Vector512<int>* t, Vector512<int> sumi, Vector512<float> dw, Vector512<float> dminw, Vector512<float>* chains)
        {
            var y = (BlockQ8_K*)(q - 4);
            var s = SubBlockSums(y).AsInt32();
            var summ = (Avx512BW.MultiplyAddAdjacent(t[8].AsInt16(), Vector512.Create(s.ToScalar()).AsInt16())
                    + Avx512BW.MultiplyAddAdjacent(t[9].AsInt16(), Vector512.Create(s.GetElement(1)).AsInt16()))
                + (Avx512BW.MultiplyAddAdjacent(t[10].AsInt16(), Vector512.Create(s.GetElement(2)).AsInt16())
                    + Avx512BW.MultiplyAddAdjacent(t[11].AsInt16(), Vector512.Create(s.GetElement(3)).AsInt16()));
            var da = Vector512.Create(y->D);
            chains[0] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), dw * da, chains[0]);
            chains[1] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(summ), dminw * da, chains[1]);
        }
    }
}
