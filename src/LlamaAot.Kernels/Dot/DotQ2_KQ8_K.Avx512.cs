// AVX-512 Q2_K · Q8_K products in the AVX2 blockwise dot's arithmetic (DotQ2_KQ8_K.Avx2Blockwise, the spec
// ReferenceBlockwise): decode through the emitted row kernel (Jit/VnniDecode.EmitQ2_K: a row's two scalar chains,
// KQuantVnniRows.Decode takes acc − accm); prompts in tiles of sixteen weight rows against eight (then four, two, one)
// activation rows, one weight row per int32 lane, as Q4_K's prompt tiles (DotQ4_KQ8_K.Avx512.cs).
//   Per tile and super-block, once for all activation rows (Table): each row's sixteen 4-bit scales as the int16 pair
//   (sc, sc) in lane i of vector s, its mins of sub-blocks 2p and 2p+1 as the pair (m_2p, m_2p+1) in lane i of vector
//   16 + p, d and dmin widened to fp32 by lane, and its quants, 2-bit fields unpacked to bytes in RowPieces' layout:
//   vector 26 + 4s + c lane i holds row i's elements 16s + 4c .. 16s + 4c + 3.
//   Each activation row's 4-byte pieces are broadcast; a sub-block's four vpmaddubsw add in int16 (8 products of a
//   2-bit and an 8-bit value, ≤ 8·3·128), vpmaddwd with its scale pairs gives sc·Σ in int32 lane i, and these add up
//   to the super-block's sumi (exact in any order). summ: eight vpmaddwd of the min pairs against the activation's
//   bsum pairs. Then the spec's two chains, acc = fma(sumi, d_w·d_a, acc) and accm = fma(summ, dmin_w·d_a, accm),
//   lane-wise — the same bits as the scalar chains of the other paths.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ2_KQ8_K
{
    /// <summary>Super-blocks per row the prompt tiles take (their tables live on the stack: 5.6 KiB a super-block, 270
    /// KiB at most; 7B's longest rows have 43); longer rows go as GemmAvx2Blockwise.</summary>
    private const int TileMaxBlocks = 48;

    /// <summary>Per super-block of a 16-row tile: 16 scale-pair vectors, 8 min-pair vectors, d and dmin, then the 64
    /// quant pieces (Vector512 each).</summary>
    private const int MinsAt = 16, DAt = 24, QuantsAt = 26, TableVectors = 90;

    /// <summary>Row-range product in the blockwise order on the AVX-512 path: decode through the emitted kernel (Zen 5,
    /// one thread: 512×2048 from L2 14.3 → 23–25 GB/s, 2048×5632 from DRAM 14.3 → 20–24 GB/s against the AVX2 dot),
    /// prompts in 16-row tiles (Tile16), leftover rows by the single-row dot; without AVX-512BW, as
    /// GemmAvx2Blockwise.</summary>
    public static void GemmAvx512VnniBlockwise(MatMulArgs* m, int start, int end)
    {
        if (KQuantVnniRows.DecodeAvailable(m, 0))
            KQuantVnniRows.Decode(m, start, end, &VnniDecode.Q2_KChains, KQuantVnniRows.DecodeFinish.Difference, null, 0);
        else if (m->Batch > 1 && Avx512BW.IsSupported && X86.Avx2.IsSupported && Fma.IsSupported && m->Cols / BlockQ2_K.QK <= TileMaxBlocks
            && m->RowBytes <= int.MaxValue / 16)
            IntGemm.Tiled(m, start, end, 16, &Tile16, null, 0, 0, null, &Avx2Blockwise);
        else GemmAvx2Blockwise(m, start, end);
    }

    /// <summary>Y[b, r..r+16) for activation rows b in [b0, b1), each bit for bit ReferenceBlockwise.</summary>
    [SkipLocalsInit]   // the table is written in full before any read
    private static void Tile16(MatMulArgs* m, int r, int b0, int b1, int* state)
    {
        int nb = m->Cols / BlockQ2_K.QK;
        long rb = m->RowBytes;
        byte* w = m->W + r * rb;
        var table = stackalloc Vector512<int>[TableVectors * nb];
        for (int k = 0; k < nb; k++) Table(w + k * QW, rb, table + TableVectors * k);
        TileActs.Run<Rows>(m, r, table, b0, b0, b1, nb);
    }

    private struct Rows : ITileRows
    {
        public static void Run<TActs>(MatMulArgs* m, int r, Vector512<int>* table, int b, int nb) where TActs : struct, IActRows =>
            TileRows<TActs>(m, r, table, b, nb);
    }

    /// <summary>One super-block's table entry for the sixteen rows rb apart at x (see the file comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Table(byte* x, long rb, Vector512<int>* t)
    {
        // The scale bytes (sc | m << 4) by lane: byte j of piece c is sub-block 4c + j's.
        IntDotAvx512.RowPieces(x, rb, out var p0, out var p1, out var p2, out var p3);
        var low4 = Vector512.Create(0x0fu);
        for (int c = 0; c < 4; c++)
        {
            var p = (c switch { 0 => p0, 1 => p1, 2 => p2, _ => p3 }).AsUInt32();
            for (int j = 0; j < 4; j++)
            {
                var sc = (p >>> (8 * j)) & low4;
                t[4 * c + j] = (sc | (sc << 16)).AsInt32();
            }
            // Min pairs of sub-blocks 4c, 4c + 1 and 4c + 2, 4c + 3.
            for (int h = 0; h < 2; h++)
            {
                var m0 = (p >>> (16 * h + 4)) & low4;
                var m1 = (p >>> (16 * h + 12)) & low4;
                t[MinsAt + 2 * c + h] = (m0 | (m1 << 16)).AsInt32();
            }
        }
        var d = (float*)(t + DAt);
        IntDotAvx2.Halves8(x + 80, rb, 8).Store(d);
        IntDotAvx2.Halves8(x + 80 + 8 * rb, rb, 8).Store(d + 8);
        IntDotAvx2.Halves8(x + 82, rb, 8).Store(d + 16);
        IntDotAvx2.Halves8(x + 82 + 8 * rb, rb, 8).Store(d + 24);
        // qs byte 32g + i holds element 32(4g + f) + i in field f (bits 2f, 2f + 1): 16 bytes h of a row (g = h / 2,
        // i from 16(h mod 2)) give sub-block 2(4g + f) + h mod 2, piece c.
        var three = Vector512.Create((byte)3);
        var q = (Vector512<byte>*)(t + QuantsAt);
        for (int h = 0; h < 4; h++)
        {
            IntDotAvx512.RowPieces(x + 16 + 16 * h, rb, out var u0, out var u1, out var u2, out var u3);
            for (int f = 0; f < 4; f++)
            {
                Vector512<byte>* s = q + 4 * (2 * (4 * (h >> 1) + f) + (h & 1));
                s[0] = (u0.AsUInt16() >>> (2 * f)).AsByte() & three;
                s[1] = (u1.AsUInt16() >>> (2 * f)).AsByte() & three;
                s[2] = (u2.AsUInt16() >>> (2 * f)).AsByte() & three;
                s[3] = (u3.AsUInt16() >>> (2 * f)).AsByte() & three;
            }
        }
    }

    /// <summary>Tile16 for weight rows r..r+16 and activation rows b..b+TActs.Count.</summary>
    [SkipLocalsInit]
    private static void TileRows<TActs>(MatMulArgs* m, int r, Vector512<int>* table, int b, int nb) where TActs : struct, IActRows
    {
        long ars = m->ActRowBytes;
        byte* a0 = m->Act + b * ars;   // super-block 0 of activation row b
        // acc and accm of activation row j: chains[2j], chains[2j + 1] (lane i = weight row i).
        var chains = stackalloc Vector512<float>[2 * TActs.Count];
        for (int j = 0; j < 2 * TActs.Count; j++) chains[j] = Vector512<float>.Zero;
        for (int k = 0; k < nb; k++, a0 += sizeof(BlockQ8_K))
        {
            Vector512<int>* t = table + TableVectors * k;
            Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (int s = 0; s < 16; s++)
            {
                var u = (Vector512<byte>*)(t + QuantsAt + 4 * s);
                var u0 = u[0]; var u1 = u[1]; var u2 = u[2]; var u3 = u[3];
                var sc = t[s].AsInt16();
                byte* q = a0 + 4 + 16 * s;
                s0 += Step(q, u0, u1, u2, u3, sc);
                if (TActs.Count > 1) s1 += Step(q + ars, u0, u1, u2, u3, sc);
                if (TActs.Count > 2)
                {
                    s2 += Step(q + 2 * ars, u0, u1, u2, u3, sc);
                    s3 += Step(q + 3 * ars, u0, u1, u2, u3, sc);
                }
                if (TActs.Count > 4)
                {
                    s4 += Step(q + 4 * ars, u0, u1, u2, u3, sc);
                    s5 += Step(q + 5 * ars, u0, u1, u2, u3, sc);
                    s6 += Step(q + 6 * ars, u0, u1, u2, u3, sc);
                    s7 += Step(q + 7 * ars, u0, u1, u2, u3, sc);
                }
            }
            var dw = ((Vector512<float>*)t)[DAt];
            var dminw = ((Vector512<float>*)t)[DAt + 1];
            Finish((BlockQ8_K*)a0, t, s0, dw, dminw, chains);
            if (TActs.Count > 1) Finish((BlockQ8_K*)(a0 + ars), t, s1, dw, dminw, chains + 2);
            if (TActs.Count > 2)
            {
                Finish((BlockQ8_K*)(a0 + 2 * ars), t, s2, dw, dminw, chains + 4);
                Finish((BlockQ8_K*)(a0 + 3 * ars), t, s3, dw, dminw, chains + 6);
            }
            if (TActs.Count > 4)
            {
                Finish((BlockQ8_K*)(a0 + 4 * ars), t, s4, dw, dminw, chains + 8);
                Finish((BlockQ8_K*)(a0 + 5 * ars), t, s5, dw, dminw, chains + 10);
                Finish((BlockQ8_K*)(a0 + 6 * ars), t, s6, dw, dminw, chains + 12);
                Finish((BlockQ8_K*)(a0 + 7 * ars), t, s7, dw, dminw, chains + 14);
            }
        }
        float* y = m->Y + b * m->YStride + r;
        for (int j = 0; j < TActs.Count; j++) (chains[2 * j] - chains[2 * j + 1]).Store(y + j * m->YStride);

        // One activation row's 16 quants of a sub-block (q) against the sixteen rows' pieces: sc·Σ, by lane.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<int> Step(byte* q, Vector512<byte> u0, Vector512<byte> u1, Vector512<byte> u2, Vector512<byte> u3, Vector512<short> sc) =>
            Avx512BW.MultiplyAddAdjacent(IntDotAvx512.PieceSums(u0, u1, u2, u3, q), sc);

        // The super-block's end for one activation row: summ from the min pairs and the bsum pairs, then the spec's two
        // fmas.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Finish(BlockQ8_K* y, Vector512<int>* t, Vector512<int> sumi, Vector512<float> dw, Vector512<float> dminw, Vector512<float>* chains)
        {
            var bs = (int*)y->BSums;   // (bs_2p, bs_2p+1) as one int32
            var summ = Vector512<int>.Zero;
            for (int p = 0; p < 8; p++) summ += Avx512BW.MultiplyAddAdjacent(t[MinsAt + p].AsInt16(), Vector512.Create(bs[p]).AsInt16());
            var da = Vector512.Create(y->D);
            chains[0] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), dw * da, chains[0]);
            chains[1] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(summ), dminw * da, chains[1]);
        }
    }
}
