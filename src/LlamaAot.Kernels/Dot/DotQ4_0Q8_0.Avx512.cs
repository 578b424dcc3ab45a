// AVX-512 Q4_0 · Q8_0 dots, both specs (helpers in DotQ8_0Q8_0.Avx512.cs / .Avx2.cs; no VNNI, see there).
//   Nibbles: two 16-byte arrays are broadcast to the halves of a zmm by the loads, one variable shift (0 or 4 bits
//   per 128-bit quarter) and a mask give both blocks' 32 nibbles in element order; "− 8" as on AVX2.
//   Reference order: the single row does two blocks per zmm and applies their fmas to a ymm accumulator in block
//   order; Rows4 pairs the same block of two rows in one zmm (one 512-bit fma per two row chains).
//   Blockwise order: the single row forms eight blocks' sumi with one transpose-and-add (Reduce4) and runs the
//   scalar fma chain in block order; BlockwiseRows16 puts four rows' nibbles in the four quarters of a zmm, so after
//   Reduce4 float lane r is row r's sumi and one zmm fma advances sixteen row chains. Decode (batch 1) goes through
//   DotQ4_0Q8_0.Decode.cs with DecodeRowAvx512, which picks a group's nibbles and scales out of its bytes by vpermt2b.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_0Q8_0
{
    public static float Avx512(byte* w, byte* a, int n)
    {
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int Q4 = IntDotAvx2.Q4, Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ4_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        var shifts = IntDotAvx512.NibbleShifts();
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * Q4, y = a + b0 * Q8;
            IntDotAvx2.Scales8(x, Q4, y, count).Store(d);
            int k = 0;
            for (; k + 2 <= count; k += 2, x += 2 * Q4, y += 2 * Q8)
            {
                var f = Avx512F.ConvertToVector512Single(Lanes2(x, y, shifts));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), f.GetLower(), acc);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k + 1]), f.GetUpper(), acc);
            }
            if (k < count) acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(Lanes(x, y)), acc);
        }
        return IntDotAvx2.Hsum8(acc);
    }

    /// <summary>The spec lanes of two consecutive block pairs, one per 256-bit half (AVX-512BW; callers check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Lanes2(byte* x, byte* y, Vector512<ushort> shifts)
    {
        var yv = IntDotAvx512.Pair(y + 2, y + IntDotAvx2.Q8 + 2);
        return IntDotAvx512.Q4Lanes(IntDotAvx512.Nibbles2(x + 2, x + IntDotAvx2.Q4 + 2, shifts), yv, IntDotAvx512.Eights(yv));
    }

    /// <summary>y[r] = Avx512(w + r·rowBytes, a, n) for r &lt; 4, bit for bit (rows 0/1 and 2/3 share a zmm).</summary>
    public static void Avx512Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx512(w + r * rowBytes, a, n);
            return;
        }
        const int Q4 = IntDotAvx2.Q4, Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ4_0.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        var spread01 = IntDotAvx512.SpreadRows(0);
        var spread23 = IntDotAvx512.SpreadRows(2);
        var shifts = IntDotAvx512.NibbleShifts();
        var acc01 = Vector512<float>.Zero;
        var acc23 = Vector512<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * Q8, Q8, count).Store(da);
            for (int k = 0, ow = b0 * Q4, oa = b0 * Q8; k < count; k++, ow += Q4, oa += Q8)
            {
                var d = (IntDotAvx2.Halves4(w + ow, rowBytes) * Vector128.Create(da[k])).ToVector256Unsafe().ToVector512Unsafe();
                var av = IntDotAvx512.Both(a + oa + 2);
                var e = IntDotAvx512.Eights(av);
                var l01 = IntDotAvx512.Q4Lanes(IntDotAvx512.Nibbles2(w + ow + 2, w1 + ow + 2, shifts), av, e);
                var l23 = IntDotAvx512.Q4Lanes(IntDotAvx512.Nibbles2(w2 + ow + 2, w3 + ow + 2, shifts), av, e);
                acc01 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(d, spread01), Avx512F.ConvertToVector512Single(l01), acc01);
                acc23 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(d, spread23), Avx512F.ConvertToVector512Single(l23), acc23);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc01.GetLower());
        y[1] = IntDotAvx2.Hsum8(acc01.GetUpper());
        y[2] = IntDotAvx2.Hsum8(acc23.GetLower());
        y[3] = IntDotAvx2.Hsum8(acc23.GetUpper());
    }

    public static float Avx512Blockwise(byte* w, byte* a, int n)
    {
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported) return ReferenceBlockwise(w, a, n);
        const int Q4 = IntDotAvx2.Q4, Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ4_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        float* s = stackalloc float[16];
        var shifts = IntDotAvx512.NibbleShifts();
        float acc = 0;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * Q4, y = a + b0 * Q8;
            IntDotAvx2.Scales8(x, Q4, y, count).Store(d);
            if (count == IntDotAvx2.Group)
            {
                // V_i: blocks 2i (quarters 0, 1) and 2i+1 (quarters 2, 3); after Reduce4 quarter q lane i sums V_i's
                // quarter q, so adding quarter pairs leaves block 2i's sumi in lane i and block 2i+1's in lane 8+i.
                var c = IntDotAvx512.Reduce4(Lanes2(x, y, shifts), Lanes2(x + 2 * Q4, y + 2 * Q8, shifts),
                    Lanes2(x + 4 * Q4, y + 4 * Q8, shifts), Lanes2(x + 6 * Q4, y + 6 * Q8, shifts));
                Avx512F.ConvertToVector512Single(c + Avx512F.Shuffle4x128(c, c, 0xB1)).Store(s);
                for (int i = 0; i < 4; i++)
                {
                    acc = MathF.FusedMultiplyAdd(s[i], d[2 * i], acc);
                    acc = MathF.FusedMultiplyAdd(s[8 + i], d[2 * i + 1], acc);
                }
                continue;
            }
            for (int k = 0; k < count; k++, x += Q4, y += Q8) acc = MathF.FusedMultiplyAdd(Vector256.Sum(Lanes(x, y)), d[k], acc);
        }
        return acc;
    }

    /// <summary>Blockwise decode terms of a row pair (DotQ4_0Q8_0.Decode.cs), eight blocks of each row a step: per row,
    /// one 64-byte load pair gives the group's eight fp16 scales and, by vpermt2b, the nibbles of four blocks per zmm
    /// (one block per 128-bit quarter), and a third load the nibbles of blocks 4..7; the activation's four zmm are
    /// loaded once for both rows (AVX-512BW and VBMI; the driver's caller checks).</summary>
    private struct DecodeRowAvx512 : IQ4_0DecodeRows
    {
        public static void Terms2(byte* x0, byte* x1, int nb, sbyte* aq, float* da, int* eights, float* s, float* d, long next)
        {
            const int Q4 = IntDotAvx2.Q4, G = IntDotAvx2.Group;
            var scaleIndex = Vector512.Create(0, 18, 36, 54, 72, 90, 108, 126, 0, 0, 0, 0, 0, 0, 0, 0);
            var scaleBytes = (scaleIndex << 16 | scaleIndex << 24 | Vector512.Create(0x01000000)).AsByte();
            var low4 = LowQs4;   // static fields read once, not in the loop
            var high4 = HighQs4;
            for (int g = 0; g < nb; g += G, x0 += G * Q4, x1 += G * Q4)
            {
                IntDotAvx2.PrefetchAheadL2(x0, 3);
                IntDotAvx2.PrefetchAheadL2(x1, 3);
                sbyte* y = aq + 32 * g;
                var y0 = Vector512.Load(y);
                var y1 = Vector512.Load(y + 64);
                var y2 = Vector512.Load(y + 128);
                var y3 = Vector512.Load(y + 192);
                var a = Vector256.Load(da + g);
                var e = Vector256.Load(eights + g);
                Group(x0, y0, y1, y2, y3, a, e, scaleBytes, low4, high4, s + g, d + g);
                Group(x1, y0, y1, y2, y3, a, e, scaleBytes, low4, high4, s + next + g, d + next + g);
            }
        }

        // One row's group at x: d[k] = fp32(d_w)·da[k] and s[k] = float(sumi) for its eight blocks.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Group(byte* x, Vector512<sbyte> y0, Vector512<sbyte> y1, Vector512<sbyte> y2, Vector512<sbyte> y3,
            Vector256<float> da, Vector256<int> eights, Vector512<byte> scaleBytes, Vector512<byte> low4, Vector512<byte> high4, float* s, float* d)
        {
            var v0 = Vector512.Load(x);
            var v1 = Vector512.Load(x + 64);
            var h = Avx512Vbmi.PermuteVar64x8x2(v0, scaleBytes, v1).AsInt32();   // low halves: don't care
            (Fp16Vector.HalfHiToSingleArithNormalFirst(h.GetLower()) * da).Store(d);
            var s0 = Four(Avx512Vbmi.PermuteVar64x8x2(v0, low4, v1), y0, y1);
            var s1 = Four(Avx512Vbmi.PermuteVar64x8x2(v1, high4, Vector512.Load(x + 80)), y2, y3);
            var t = Avx512F.UnpackLow(s0, s1) + Avx512F.UnpackHigh(s0, s1);
            t += Avx512F.Shuffle(t, 0x4E);
            // Block q now sits in lane 4q and block 4 + q in lane 4q + 1.
            var order = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
            Avx.ConvertToVector256Single(Avx512F.PermuteVar16x32(t, order).GetLower() - eights).Store(s);
        }

        // Σ n·q_a of four blocks (one per 128-bit quarter of qs) as four int32 per quarter; lo/hi: the activation's
        // partners of the low and the high nibbles.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<int> Four(Vector512<byte> qs, Vector512<sbyte> lo, Vector512<sbyte> hi)
        {
            var mask = Vector512.Create((byte)0x0F);
            var p = Avx512BW.MultiplyAddAdjacent(qs & mask, lo) + Avx512BW.MultiplyAddAdjacent((qs.AsUInt16() >>> 4).AsByte() & mask, hi);
            return Avx512BW.MultiplyAddAdjacent(p, Vector512<short>.One);
        }
    }

    /// <summary>Blockwise decode terms of a row pair by the emitted kernel (Jit/VnniDecode.cs; callers check
    /// VnniDecode.Available).</summary>
    private struct DecodeRowVnni : IQ4_0DecodeRows
    {
        public static void Terms2(byte* x0, byte* x1, int nb, sbyte* aq, float* da, int* eights, float* s, float* d, long next)
        {
            if (nb < IntDotAvx2.Group) return;   // the emitted loop runs at least once
            var args = new DecodeTermsArgs
            {
                X0 = x0, X1 = x1, Groups = nb / IntDotAvx2.Group, Act = aq, Da = da, Eights = eights, S = s, D = d,
                NextBytes = next * sizeof(float), Constants = VnniDecode.ConstantTable,
            };
            VnniDecode.Q4_0Terms(&args);
        }
    }

    /// <summary>Runs's sixteen-row runs in one call of the emitted runs kernel (rows of nb·18 bytes, nb a multiple of
    /// eight; scratch nb·128 bytes, 64-byte aligned): the same rows, terms and chains, with the chains' transposes in
    /// zmm and no call per row pair (see Decode.cs for what it gained). Returns the first row not done.</summary>
    private static int VnniRuns16(MatMulArgs* m, int start, int end, int nb, sbyte* aq, float* da, int* eights, byte* scratch)
    {
        const int Rows = 16;
        int half = (end - start) / Rows * (Rows / 2);
        if (half == 0) return start;
        var args = new Q4_0RunsArgs
        {
            X0 = m->W + start * m->RowBytes, X1 = m->W + (start + half) * m->RowBytes, Groups = nb / IntDotAvx2.Group,
            Act = aq, Da = da, Eights = eights, Scratch = scratch,
            Y0 = m->Y + start, Constants = VnniDecode.ConstantTable, YDelta = half * sizeof(float), Runs = half / (Rows / 2),
        };
        VnniDecode.Q4_0Runs(&args);
        return start + 2 * half;
    }

    /// <summary>Rows [start, end) in fours a quarter of the range apart through the emitted four-row kernel (rows of
    /// nb·18 bytes, nb a multiple of eight), each row's chain in a lane and no buffer of terms. Returns the first row
    /// not done.</summary>
    private static int VnniQuads(MatMulArgs* m, int start, int end, int nb, sbyte* aq, float* da, int* eights)
    {
        int q = (end - start) / 4;
        if (q == 0) return start;
        float* lanes = stackalloc float[8];
        long rb = m->RowBytes;
        var args = new Q4_0QuadArgs
        {
            Stride = q * rb, Groups = nb / IntDotAvx2.Group, Act = aq, Da = da, Eights = eights, Lanes = lanes,
            Constants = VnniDecode.ConstantTable,
        };
        for (int i = 0; i < q; i++)
        {
            args.X = m->W + (start + i) * rb;
            VnniDecode.Q4_0Quad(&args);
            for (int j = 0; j < 4; j++) m->Y[start + j * q + i] = lanes[j];
        }
        return start + 4 * q;
    }

    // vpermt2b indices: the nibble bytes of blocks 0..3 of a group from (x, x + 64), of blocks 4..7 from (x + 64, x + 80).
    private static readonly Vector512<byte> LowQs4 = QsIndex(2, 20, 38, 56), HighQs4 = QsIndex(10, 28, 46, 112);

    /// <summary>vpermt2b indices putting 16 bytes from each of b0..b3 in the quarters of a zmm.</summary>
    private static Vector512<byte> QsIndex(int b0, int b1, int b2, int b3)
    {
        var v = Vector512<byte>.Zero;
        for (int i = 0; i < 16; i++)
            v = v.WithElement(i, (byte)(b0 + i)).WithElement(16 + i, (byte)(b1 + i)).WithElement(32 + i, (byte)(b2 + i)).WithElement(48 + i, (byte)(b3 + i));
        return v;
    }

    /// <summary>y[r] = Avx512Blockwise(w + r·rowBytes, a, n) for r &lt; 16, bit for bit: float lane r is row r.</summary>
    public static void Avx512BlockwiseRows16(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 16)
        {
            for (int r = 0; r < 16; r++) y[r] = Avx512Blockwise(w + r * rowBytes, a, n);
            return;
        }
        const int Q4 = IntDotAvx2.Q4, Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ4_0.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        long rb = rowBytes;
        byte* w8 = w + 8 * rb;
        var acc = Vector512<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * Q8, Q8, count).Store(da);
            for (int k = 0, ow = b0 * Q4, oa = b0 * Q8; k < count; k++, ow += Q4, oa += Q8)
            {
                byte* ab = a + oa + 2;
                var alo = Avx512F.BroadcastVector128ToVector512((int*)ab).AsSByte();
                var ahi = Avx512F.BroadcastVector128ToVector512((int*)(ab + 16)).AsSByte();
                var e = IntDotAvx512.Eights(alo) + IntDotAvx512.Eights(ahi);
                byte* p = w + ow + 2;
                var v0 = Four(p, rb, alo, ahi, e);
                var v1 = Four(p + rb, rb, alo, ahi, e);
                var v2 = Four(p + 2 * rb, rb, alo, ahi, e);
                var v3 = Four(p + 3 * rb, rb, alo, ahi, e);
                var sumi = Avx512F.ConvertToVector512Single(IntDotAvx512.Reduce4(v0, v1, v2, v3));   // rows 0..15
                var dw = Avx512F.InsertVector256(IntDotAvx2.Halves8(w + ow, rb, 8).ToVector512Unsafe(), IntDotAvx2.Halves8(w8 + ow, rb, 8), 1);
                acc = Avx512F.FusedMultiplyAdd(sumi, dw * Vector512.Create(da[k]), acc);
            }
        }
        acc.Store(y);

        // Rows p, p + 4·rb, p + 8·rb, p + 12·rb in quarters 0..3: four int32 per quarter summing to that row's sumi.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<int> Four(byte* p, long rb, Vector512<sbyte> alo, Vector512<sbyte> ahi, Vector512<short> e)
        {
            var v = Avx512F.InsertVector256(Vector256.Create(Vector128.Load(p), Vector128.Load(p + 4 * rb)).ToVector512Unsafe(),
                Vector256.Create(Vector128.Load(p + 8 * rb), Vector128.Load(p + 12 * rb)), 1);
            var m = Vector512.Create((byte)0x0F);
            var s = Avx512BW.MultiplyAddAdjacent(v & m, alo) + Avx512BW.MultiplyAddAdjacent((v.AsUInt16() >>> 4).AsByte() & m, ahi);
            return Avx512BW.MultiplyAddAdjacent(s - e, Vector512<short>.One);
        }
    }

    /// <summary>Y[b, r..r+16) for activation rows b in [b0, b1), each bit for bit Avx512Blockwise: the prompt
    /// kernel. Against Avx512BlockwiseRows16 called once per activation row it (1) converts the 16 rows' weight
    /// scales once per tile, (2) unpacks each block's nibbles once per tile, into a buffer all its activation rows
    /// read (once per eight rows cost 14% of the kernel), and (3) transposes them once so that int32 lane i of every
    /// nibble vector belongs to row i: each activation row then takes its 4-byte pieces by broadcast loads, sums all
    /// eight products in int16 and needs one vpmaddwd and no reduction (Rows16's Reduce4 per activation row cost four
    /// shuffles); TKernel runs that inner loop (intrinsics, or emitted VNNI code). Rows longer than 512 blocks (the
    /// tile buffer's and IntGemm's terms' limit), and a batch remainder under four rows, use Rows16.</summary>
    [SkipLocalsInit]   // its buffer (up to 288 KiB) is written in full before any read
    private static void Avx512BlockwiseTile16<TKernel>(MatMulArgs* m, int r, int b0, int b1, int* terms) where TKernel : struct, ITileKernel
    {
        const int Q4 = IntDotAvx2.Q4, MaxBlocks = 512;
        int n = m->Cols, nb = n / BlockQ4_0.QK;
        long rb = m->RowBytes;
        byte* w = m->W + r * rb;
        int b = b0;
        if (Avx512BW.IsSupported && X86.Avx2.IsSupported && Fma.IsSupported && rb <= int.MaxValue / 16 && nb <= MaxBlocks
            && terms != null && b1 - b0 >= 4)
        {
            // The tile unpacked once for all its activation rows: per block, the eight nibble vectors (RowPieces
            // layout, low nibbles then high) and the sixteen rows' fp32 scales.
            byte* buffer = stackalloc byte[TileBlockBytes * nb + 64];
            byte* tile = IntDotAvx512.Align64(buffer);
            IntDotAvx512.BuildTile<Nibbles>(tile, w, rb, nb, Q4);
            byte* next = w + 16 * rb;   // the next weight tile, prefetched over the runs
            for (int parts = Math.Max(1, (b1 - b0 + 7) / 8); b + 4 <= b1;)
            {
                IntDotAvx512.PrefetchPart(next, 16 * rb, (b - b0) / 8, parts);
                int acts = b + 8 <= b1 ? 8 : 4;
                // Activation rows come in groups of eight from b0, so a group of four starts a group of the terms.
                int* groupTerms = terms + (b - b0) / 8 * TermsPerBlock * nb;
                TKernel.Run(m, r, tile, b, acts, groupTerms, nb);
                b += acts;
            }
        }
        for (; b < b1; b++) Avx512BlockwiseRows16(w, rb, m->Act + b * m->ActRowBytes, n, m->Y + b * m->YStride + r);
    }

    /// <summary>Y[b, r..r+32) for activation rows b in [b0, b1) by the emitted two-tile kernel (VnniTiles.EmitQ4_0Pair,
    /// which takes one activation load per two vpdpbusd where the 16-row kernel takes one per vpdpbusd): what
    /// Avx512BlockwiseTile16 does for rows r..r+16 and r+16..r+32, with the same integer sums and float operations
    /// per row, so bit for bit the same. Rows longer than PairMaxBlocks blocks and calls without terms or with under
    /// four activation rows go to Avx512BlockwiseTile16 for each half (callers check VnniTiles.Available).</summary>
    [SkipLocalsInit]   // its buffer (up to 288 KiB) is written in full before any read
    private static void VnniTile32(MatMulArgs* m, int r, int b0, int b1, int* terms)
    {
        int nb = m->Cols / BlockQ4_0.QK;
        long rb = m->RowBytes;
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported || rb > int.MaxValue / 32 || nb > PairMaxBlocks
            || terms == null || b1 - b0 < 4)
        {
            Avx512BlockwiseTile16<VnniTile>(m, r, b0, b1, terms);
            Avx512BlockwiseTile16<VnniTile>(m, r + 16, b0, b1, terms);
            return;
        }
        byte* w = m->W + r * rb;
        byte* buffer = stackalloc byte[VnniTiles.PairBlockBytes * nb + 64];
        byte* tile = IntDotAvx512.Align64(buffer);
        IntDotAvx512.BuildTile<Nibbles>(tile, w, rb, nb, IntDotAvx2.Q4, tiles: 2);
        var args = new BlockTileArgs { Tile = tile, ActRowBytes = m->ActRowBytes, Blocks = nb, YStrideBytes = m->YStride * sizeof(float) };
        // The next weight tiles (32·rb bytes, 9·nb lines), prefetched over the runs: each kernel call takes a line a
        // block, and what the calls do not reach (under nine runs) is prefetched at the start. Prefetched here in
        // bursts instead (PrefetchPart, 36 lines a call), pp512 at one thread ran 258 t/s against 270.
        byte* next = w + 32 * rb;
        int calls = (b1 - b0) / 8 + ((b1 - b0) % 8 >= 4 ? 1 : 0);
        long reach = (long)calls * nb * 64;
        if (reach < 32 * rb) IntDotAvx512.PrefetchPart(next + reach, 32 * rb - reach, 0, 1);
        int b = b0;
        for (; b + 4 <= b1; next += nb * 64L)
        {
            args.Prefetch = next;
            int acts = b + 8 <= b1 ? 8 : 4;
            // As in Avx512BlockwiseTile16, a group of four starts a group of the terms.
            args.Terms = (byte*)(terms + (b - b0) / 8 * TermsPerBlock * nb);
            args.Act = m->Act + b * m->ActRowBytes + 2;
            args.Y = m->Y + b * m->YStride + r;
            VnniTiles.Q4_0Pair(&args, acts);
            b += acts;
        }
        for (; b < b1; b++)
        {
            byte* a = m->Act + b * m->ActRowBytes;
            float* y = m->Y + b * m->YStride + r;
            Avx512BlockwiseRows16(w, rb, a, m->Cols, y);
            Avx512BlockwiseRows16(w + 16 * rb, rb, a, m->Cols, y + 16);
        }
    }

    /// <summary>VnniTile32's longest rows in blocks: its buffer then takes 288 KiB, Avx512BlockwiseTile16's
    /// most.</summary>
    private const int PairMaxBlocks = 256;

    /// <summary>Bytes per block of Avx512BlockwiseTile16's unpacked tile: eight nibble vectors and 16 fp32 scales.</summary>
    private const int TileBlockBytes = VnniTiles.TileBlockBytes;

    /// <summary>A Q4_0 block's 16 bytes of sixteen rows as piece vectors: the low nibbles in vectors 0..3, the high
    /// nibbles in 4..7 (the legacy tiles' unpacking, without fifth bits or offset).</summary>
    private struct Nibbles : ITilePieces
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(byte* t, byte* q, long rb) => LegacyTiles.StoreValues(t, q, rb, null, 0);
    }

    /// <summary>Activation terms per block and group of eight activation rows (ActivationTerms).</summary>
    private const int TermsPerBlock = VnniTiles.TermsBlockBytes / sizeof(int);

    /// <summary>The inner loop of Avx512BlockwiseTile16: weight rows r..r+16 (unpacked in tile) against activation rows
    /// b..b+acts (acts 8 or 4) whose terms start at terms.</summary>
    private interface ITileKernel
    {
        static abstract void Run(MatMulArgs* m, int r, byte* tile, int b, int acts, int* terms, int nb);
    }

    /// <summary>The intrinsic inner loop (TileRows).</summary>
    private struct IntrinsicTile : ITileKernel
    {
        public static void Run(MatMulArgs* m, int r, byte* tile, int b, int acts, int* terms, int nb)
        {
            if (acts == 8) TileRows<EightActs>(m, r, tile, b, terms, nb);
            else TileRows<FourActs>(m, r, tile, b, terms, nb);
        }
    }

    /// <summary>The emitted vpdpbusd inner loop (Jit/VnniTiles.cs; callers check VnniTiles.Available).</summary>
    private struct VnniTile : ITileKernel
    {
        public static void Run(MatMulArgs* m, int r, byte* tile, int b, int acts, int* terms, int nb)
        {
            var args = new BlockTileArgs
            {
                Tile = tile, Terms = (byte*)terms, Act = m->Act + b * m->ActRowBytes + 2, ActRowBytes = m->ActRowBytes,
                Blocks = nb, Y = m->Y + b * m->YStride + r, YStrideBytes = m->YStride * sizeof(float),
            };
            VnniTiles.Q4_0(&args, acts);
        }
    }

    /// <summary>Avx512BlockwiseTile16's intrinsic inner loop for weight rows r..r+16, unpacked in tile, and activation
    /// rows b..b+TActs.Count, whose terms (ActivationTerms) start at terms.</summary>
    [SkipLocalsInit]
    private static void TileRows<TActs>(MatMulArgs* m, int r, byte* tile, int b, int* terms, int nb) where TActs : struct, IActRows
    {
        const int Q8 = IntDotAvx2.Q8;
        long ars = m->ActRowBytes;
        byte* a0 = m->Act + b * ars;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        var acc4 = Vector512<float>.Zero;
        var acc5 = Vector512<float>.Zero;
        var acc6 = Vector512<float>.Zero;
        var acc7 = Vector512<float>.Zero;
        for (int k = 0; k < nb; k++)
        {
            // l_c / h_c lane i: the low / high nibbles of row i's 4-byte piece c (elements 4c..4c+3 / 16+4c..).
            byte* t = tile + TileBlockBytes * k;
            var l0 = Vector512.Load(t); var l1 = Vector512.Load(t + 64);
            var l2 = Vector512.Load(t + 128); var l3 = Vector512.Load(t + 192);
            var h0 = Vector512.Load(t + 256); var h1 = Vector512.Load(t + 320);
            var h2 = Vector512.Load(t + 384); var h3 = Vector512.Load(t + 448);
            var d = Vector512.Load((float*)(t + 512));
            byte* ab = a0 + k * Q8 + 2;
            float* da = (float*)(terms + TermsPerBlock * k);
            int* ne = terms + TermsPerBlock * k + 8;
            acc0 = Step(ab, l0, l1, l2, l3, h0, h1, h2, h3, ne, d * Vector512.Create(da[0]), acc0);
            acc1 = Step(ab + ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 1, d * Vector512.Create(da[1]), acc1);
            acc2 = Step(ab + 2 * ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 2, d * Vector512.Create(da[2]), acc2);
            acc3 = Step(ab + 3 * ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 3, d * Vector512.Create(da[3]), acc3);
            if (TActs.Count == 8)
            {
                acc4 = Step(ab + 4 * ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 4, d * Vector512.Create(da[4]), acc4);
                acc5 = Step(ab + 5 * ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 5, d * Vector512.Create(da[5]), acc5);
                acc6 = Step(ab + 6 * ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 6, d * Vector512.Create(da[6]), acc6);
                acc7 = Step(ab + 7 * ars, l0, l1, l2, l3, h0, h1, h2, h3, ne + 7, d * Vector512.Create(da[7]), acc7);
            }
        }
        float* y = m->Y + b * m->YStride + r;
        long ys = m->YStride;
        acc0.Store(y);
        acc1.Store(y + ys);
        acc2.Store(y + 2 * ys);
        acc3.Store(y + 3 * ys);
        if (TActs.Count == 8)
        {
            acc4.Store(y + 4 * ys);
            acc5.Store(y + 5 * ys);
            acc6.Store(y + 6 * ys);
            acc7.Store(y + 7 * ys);
        }

        // One block of one activation row against the 16 rows. l_c and h_c hold, in lane i, row i's nibbles of
        // elements 4c..4c+3 and 16+4c..16+4c+3; the activation's matching 4 bytes are broadcast to every lane. Each
        // int16 sum of the eight vpmaddubsw results covers 16 products of a 4-bit and an 8-bit value (≤ 16·15·128 =
        // 30720 < 2^15, no wrap), vpmaddwd finishes lane i = Σ n·q_a over the block, and the "− 8" comes off as the
        // block's −8·Σq_a: the same integer as Rows16's sumi, then the spec's fma with d_w·d_a.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Step(byte* ab, Vector512<byte> l0, Vector512<byte> l1, Vector512<byte> l2, Vector512<byte> l3,
            Vector512<byte> h0, Vector512<byte> h1, Vector512<byte> h2, Vector512<byte> h3, int* negEight, Vector512<float> d, Vector512<float> acc)
        {
            var lo = IntDotAvx512.PieceSums(l0, l1, l2, l3, ab);
            var hi = IntDotAvx512.PieceSums(h0, h1, h2, h3, ab + 16);
            var sumi = Avx512BW.MultiplyAddAdjacent(lo + hi, Vector512<short>.One) + Vector512.Create(*negEight);   // a broadcast operand
            return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), d, acc);
        }
    }

    /// <summary>IntGemm's per-batch-tile preparation for Avx512BlockwiseTile16, computed once for all the weight tiles
    /// that pass the batch tile: for activation rows b0 + 8g + j (j &lt; 8), state[(g·nb + k)·16 + j] = fp32 d_a of
    /// block k and state[(g·nb + k)·16 + 8 + j] = −8·Σ of its 32 quants.</summary>
    private static void ActivationTerms(MatMulArgs* m, int b0, int b1, int* state)
    {
        int nb = m->Cols / BlockQ4_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        for (int b = b0; b < b1; b++)
        {
            byte* row = m->Act + b * m->ActRowBytes;
            int* t = state + (b - b0) / 8 * TermsPerBlock * nb + (b - b0) % 8;
            for (int g = 0; g < nb; g += IntDotAvx2.Group)
            {
                int count = Math.Min(IntDotAvx2.Group, nb - g);
                IntDotAvx2.Halves8(row + g * IntDotAvx2.Q8, IntDotAvx2.Q8, count).Store(d);
                for (int i = 0; i < count; i++) ((float*)t)[TermsPerBlock * (g + i)] = d[i];
            }
            byte* a = row + 2;
            for (int k = 0; k < nb; k++, a += IntDotAvx2.Q8)
            {
                int sum;
                if (X86.Avx2.IsSupported)
                {
                    // vpsadbw sums q + 128 (the sign bit flipped) in groups of 8 bytes.
                    var s = X86.Avx2.SumAbsoluteDifferences(Vector256.Load(a) ^ Vector256.Create((byte)0x80), Vector256<byte>.Zero).AsInt64();
                    var u = s.GetLower() + s.GetUpper();
                    sum = (int)(u.ToScalar() + u.GetElement(1)) - 32 * 128;
                }
                else
                {
                    sum = 0;
                    for (int i = 0; i < 32; i++) sum += ((sbyte*)a)[i];
                }
                t[TermsPerBlock * k + 8] = -8 * sum;
            }
        }
    }

    /// <summary>Row-range product (MatMulArgs contract) for the 8-lane spec, in tiles of Avx512Rows4.</summary>
    public static void GemmAvx512(MatMulArgs* m, int start, int end) => IntGemm.Tiled(m, start, end, 4, &Avx512Rows4, &Avx512);

    /// <summary>Row-range product for the blockwise spec: decode through DecodeRowAvx512, prompts in tiles of
    /// Avx512BlockwiseTile16, then Avx2BlockwiseRows8.</summary>
    public static void GemmAvx512Blockwise(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1 && Avx512BW.IsSupported && X86.Avx2.IsSupported && Fma.IsSupported)
        {
            // Without VBMI (Skylake-X, Cascade Lake) the AVX2 row kernel does the same work.
            if (Avx512Vbmi.IsSupported) BlockwiseDecode<DecodeRowAvx512>(m, start, end, &Avx512Blockwise);
            else BlockwiseDecode<DecodeRowAvx2>(m, start, end, &Avx512Blockwise);
        }
        else IntGemm.Tiled(m, start, end, 16, &Avx512BlockwiseTile16<IntrinsicTile>, &ActivationTerms, 2 * (m->Cols / BlockQ4_0.QK), 8, &Avx2BlockwiseRows8, &Avx512Blockwise);
    }

    /// <summary>GemmAvx512Blockwise with emitted code where it is in place: decode through DecodeRowVnni
    /// (Jit/VnniDecode.cs), prompts in VnniTile32's 32-row tiles, then 16-row ones, with their inner loops in
    /// vpdpbusd code (Jit/VnniTiles.cs); everything else as GemmAvx512Blockwise.</summary>
    public static void GemmAvx512VnniBlockwise(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1 && VnniDecode.Available && X86.Avx2.IsSupported && Fma.IsSupported) BlockwiseDecode<DecodeRowVnni>(m, start, end, &Avx512Blockwise);
        else if (m->Batch == 1 || !VnniTiles.Available) GemmAvx512Blockwise(m, start, end);
        else
        {
            IntGemm.Tiled(m, start, end, 32, &VnniTile32, 16, &Avx512BlockwiseTile16<VnniTile>, &ActivationTerms, 2 * (m->Cols / BlockQ4_0.QK),
                8, &Avx2BlockwiseRows8, &Avx512Blockwise);
        }
    }
}
