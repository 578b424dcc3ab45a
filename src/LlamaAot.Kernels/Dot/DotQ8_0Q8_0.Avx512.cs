// AVX-512 Q8_0 · Q8_0 dots, and the AVX-512 pieces the integer dots share (IntDotAvx512).
//   Integer part on zmm, two 32-byte blocks at a time (one per 256-bit half): vpmaddubsw + vpmaddwd as on AVX2
//   (see DotQ8_0Q8_0.Avx2.cs). AVX-512 has no vpsignb, so the activation is negated under a mask where the weight is
//   negative. .NET 9, the product's target, exposes no AVX-512 VNNI class (Avx10v1 and AvxVnni exist but this CPU
//   supports neither), so vpdpbusd appears only in the emitted prompt tile (Avx512VnniTile16, Jit/VnniTiles.cs),
//   which flips the weights' sign bits once per tile and takes −128·Σ of each activation piece off instead.
//   Float part: the spec fixes one fma chain per lane across blocks, so the single row converts both blocks' lanes
//   at once and then applies the two fmas to a 256-bit accumulator in block order. Rows4 puts the same block of two
//   rows in one zmm, so each 512-bit fma advances two independent row chains.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

/// <summary>How many activation rows a prompt kernel's generic pass takes (a constant in each instantiation, so the
/// unused rows' code folds away).</summary>
internal interface IActRows { static abstract int Count { get; } }
internal struct OneAct : IActRows { public static int Count => 1; }
internal struct TwoActs : IActRows { public static int Count => 2; }
internal struct FourActs : IActRows { public static int Count => 4; }
internal struct EightActs : IActRows { public static int Count => 8; }

/// <summary>A K-quant prompt tile's inner loop: its sixteen weight rows (r.., unpacked in table) against TActs.Count
/// activation rows from b.</summary>
internal unsafe interface ITileRows
{
    static abstract void Run<TActs>(MatMulArgs* m, int r, Vector512<int>* table, int b, int nb) where TActs : struct, IActRows;
}

internal static unsafe class TileActs
{
    /// <summary>Activation rows [b, b1) of the batch tile [b0, b1) through a 16-row tile's inner loop T: groups of
    /// eight, then four, two and one; over the groups of eight the next weight tile (rows r + 16..) is prefetched, so
    /// that its table build reads L2 instead of waiting on DRAM.</summary>
    public static void Run<T>(MatMulArgs* m, int r, Vector512<int>* table, int b0, int b, int b1, int nb) where T : struct, ITileRows
    {
        long rb = m->RowBytes;
        byte* next = m->W + (r + 16) * rb;
        for (int parts = (b1 - b0 + 7) / 8; b + 8 <= b1; b += 8)
        {
            IntDotAvx512.PrefetchPart(next, 16 * rb, (b - b0) / 8, parts);
            T.Run<EightActs>(m, r, table, b, nb);
        }
        if (b + 4 <= b1) { T.Run<FourActs>(m, r, table, b, nb); b += 4; }
        if (b + 2 <= b1) { T.Run<TwoActs>(m, r, table, b, nb); b += 2; }
        if (b < b1) T.Run<OneAct>(m, r, table, b, nb);
    }
}

/// <summary>How a prompt tile lays out one block of sixteen rows (IntDotAvx512.BuildTile): its eight piece vectors at
/// t, t + 64, .., t + 448, from the rows' quants at q (rows rb apart).</summary>
internal unsafe interface ITilePieces { static abstract void Store(byte* t, byte* q, long rb); }

/// <summary>AVX-512 building blocks of the Q8_0/Q4_0 dots; callers check Avx512BW (and Avx2, Fma for the scale
/// helpers of IntDotAvx2).</summary>
internal static unsafe class IntDotAvx512
{
    /// <summary>Spec lanes of two Q8_0 pairs, one per 256-bit half (y in [-127, 127]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Q8Lanes(Vector512<sbyte> x, Vector512<sbyte> y)
    {
        var sy = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<sbyte>.Zero), Vector512<sbyte>.Zero - y, y);
        var p16 = Avx512BW.MultiplyAddAdjacent(Avx512BW.Abs(x), sy);
        return Avx512BW.MultiplyAddAdjacent(p16, Vector512<short>.One);
    }

    /// <summary>Two 32-byte arrays as the halves of a zmm (Vector512.Create(lo, hi) goes through a stack temporary in
    /// .NET 9's code generator; vinserti64x4 is one instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Pair(byte* lo, byte* hi) =>
        Avx512F.InsertVector256(Vector256.Load((sbyte*)lo).ToVector512Unsafe(), Vector256.Load((sbyte*)hi), 1);

    /// <summary>32 bytes broadcast to both halves of a zmm (one load).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Both(byte* p) => Avx512F.BroadcastVector256ToVector512((long*)p).AsSByte();

    /// <summary>Per-16-bit shift counts (0, 4, 0, 4 by 128-bit quarter) for <see cref="Nibbles2"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ushort> NibbleShifts() =>
        Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4);

    /// <summary>Two Q4_0 blocks' nibbles in element order, one block per 256-bit half: quarters (p low nibbles,
    /// p high nibbles, q low, q high). Each 16-byte array is broadcast to a ymm by the load itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> Nibbles2(byte* p, byte* q, Vector512<ushort> shifts)
    {
        var v = Avx512F.InsertVector256(X86.Avx2.BroadcastVector128ToVector256(p).ToVector512Unsafe(), X86.Avx2.BroadcastVector128ToVector256(q), 1);
        return Avx512BW.ShiftRightLogicalVariable(v.AsUInt16(), shifts).AsByte() & Vector512.Create((byte)0x0F);
    }

    /// <summary>Lane indices that spread rows (0, 1) or (2, 3) of a 4-row scale vector over the two halves of a zmm.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> SpreadRows(int r) => Vector512.Create(r, r, r, r, r, r, r, r, r + 1, r + 1, r + 1, r + 1, r + 1, r + 1, r + 1, r + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Eights(Vector512<sbyte> y) => Avx512BW.MultiplyAddAdjacent(Vector512.Create((byte)8), y);

    /// <summary>Q4_0 spec lanes from unsigned nibbles (see IntDotAvx2.Q4Lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Q4Lanes(Vector512<byte> nib, Vector512<sbyte> y, Vector512<short> eights) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nib, y) - eights, Vector512<short>.One);

    /// <summary>16 bytes of each of sixteen rows rb apart (starting at p), as four vectors whose int32 lane i is the
    /// 4-byte piece c of row i: u_c lane i = bytes 4c..4c+3 of row i. The prompt kernels that broadcast the activation's
    /// pieces use it: each lane then belongs to one weight row, so no reduction follows the products. Built as
    /// quarters (quarter q of the j-th load holds row j + 4q) and a 4×4 transpose of int32 within quarters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RowPieces(byte* p, long rb, out Vector512<byte> u0, out Vector512<byte> u1, out Vector512<byte> u2, out Vector512<byte> u3)
    {
        var v0 = Quarters(p, rb);
        var v1 = Quarters(p + rb, rb);
        var v2 = Quarters(p + 2 * rb, rb);
        var v3 = Quarters(p + 3 * rb, rb);
        var x01 = Avx512F.UnpackLow(v0, v1); var y01 = Avx512F.UnpackHigh(v0, v1);
        var x23 = Avx512F.UnpackLow(v2, v3); var y23 = Avx512F.UnpackHigh(v2, v3);
        u0 = Avx512F.UnpackLow(x01.AsInt64(), x23.AsInt64()).AsByte();
        u1 = Avx512F.UnpackHigh(x01.AsInt64(), x23.AsInt64()).AsByte();
        u2 = Avx512F.UnpackLow(y01.AsInt64(), y23.AsInt64()).AsByte();
        u3 = Avx512F.UnpackHigh(y01.AsInt64(), y23.AsInt64()).AsByte();

        static Vector512<int> Quarters(byte* p, long rb) =>
            Avx512F.InsertVector256(Vector256.Create(Vector128.Load(p), Vector128.Load(p + 4 * rb)).ToVector512Unsafe(),
                Vector256.Create(Vector128.Load(p + 8 * rb), Vector128.Load(p + 12 * rb)), 1).AsInt32();
    }

    /// <summary>4 bytes of p broadcast to every int32 lane (one vpbroadcastd load): an activation piece against
    /// RowPieces' vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Piece(byte* p) => Vector512.Create(*(int*)p).AsSByte();

    /// <summary>Σ over c &lt; 4 of vpmaddubsw(u_c, the activation piece at p + 4c), in int16: lane i's products of row
    /// i's 16 unsigned values in u0..u3 (RowPieces layout) with the activation's 16 bytes at p, pairs summed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> PieceSums(Vector512<byte> u0, Vector512<byte> u1, Vector512<byte> u2, Vector512<byte> u3, byte* p) =>
        (Avx512BW.MultiplyAddAdjacent(u0, Piece(p)) + Avx512BW.MultiplyAddAdjacent(u1, Piece(p + 4)))
        + (Avx512BW.MultiplyAddAdjacent(u2, Piece(p + 8)) + Avx512BW.MultiplyAddAdjacent(u3, Piece(p + 12)));

    /// <summary>p rounded up to a 64-byte boundary (prompt tiles allocate 64 bytes more than they use).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Align64(byte* p) => (byte*)(((nint)p + 63) & ~(nint)63);

    /// <summary>Prefetches into L2 part <paramref name="part"/> of <paramref name="parts"/> of the bytes [p, p +
    /// bytes): a prompt tile kernel spreads the next weight tile's lines over its runs, so that tile's fill reads L2
    /// instead of waiting on DRAM (a fill stalled on its loads cost ~8% of Q4_0 pp512). Prefetches never fault, so
    /// reaching past the tensor is harmless.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchPart(byte* p, long bytes, int part, int parts)
    {
        nint line = ((nint)p + (nint)(bytes * part / parts)) & ~(nint)63, end = (nint)p + (nint)(bytes * (part + 1) / parts);
        for (; line < end; line += 64) Sse.Prefetch1((void*)line);
    }

    /// <summary>Four piece vectors of a prompt tile's block, at t, t + 64, t + 128 and t + 192.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StorePieces(byte* t, Vector512<byte> v0, Vector512<byte> v1, Vector512<byte> v2, Vector512<byte> v3)
    {
        v0.Store(t);
        v1.Store(t + 64);
        v2.Store(t + 128);
        v3.Store(t + 192);
    }

    /// <summary>Fills a Q4_0 or Q8_0 prompt tile (VnniTiles.TileBlockBytes per block) for the sixteen rows rb apart
    /// at w: per block k (blockBytes apart in a row; fp16 scale first, quants from byte 2) the eight piece vectors by
    /// TPieces, then the rows' fp32 scales at byte 512. With tiles = 2, the 32 rows at w as two tiles interleaved by
    /// block (VnniTiles.PairBlockBytes per block): both tiles' piece vectors, then both tiles' scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BuildTile<TPieces>(byte* tile, byte* w, long rb, int nb, int blockBytes, int tiles = 1) where TPieces : struct, ITilePieces
    {
        for (int k = 0; k < nb; k++)
        {
            byte* t = tile + tiles * VnniTiles.TileBlockBytes * k;
            for (int g = 0; g < tiles; g++)
            {
                byte* q = w + 16 * g * rb + k * blockBytes;
                TPieces.Store(t + 512 * g, q + 2, rb);
                TileScales(q, rb, (float*)(t + 512 * tiles) + 16 * g);
            }
        }
    }

    /// <summary>The fp16 scales at p of sixteen rows rb apart, as the fp32 vector a prompt tile keeps per block (row i
    /// in lane i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TileScales(byte* p, long rb, float* t)
    {
        IntDotAvx2.Halves8(p, rb, 8).Store(t);
        IntDotAvx2.Halves8(p + 8 * rb, rb, 8).Store(t + 8);
    }

    /// <summary>Σ over each 128-bit quarter of four vectors: quarter q of the result holds (Σ v0.q, Σ v1.q, Σ v2.q, Σ v3.q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Reduce4(Vector512<int> v0, Vector512<int> v1, Vector512<int> v2, Vector512<int> v3)
    {
        var a = Avx512F.UnpackLow(v0, v1) + Avx512F.UnpackHigh(v0, v1);
        var b = Avx512F.UnpackLow(v2, v3) + Avx512F.UnpackHigh(v2, v3);
        return Avx512F.UnpackLow(a.AsInt64(), b.AsInt64()).AsInt32() + Avx512F.UnpackHigh(a.AsInt64(), b.AsInt64()).AsInt32();
    }

}

public static unsafe partial class DotQ8_0Q8_0
{
    public static float Avx512(byte* w, byte* a, int n)
    {
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ8_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * Q8, y = a + b0 * Q8;
            IntDotAvx2.Scales8(x, Q8, y, count).Store(d);
            int k = 0;
            for (; k + 2 <= count; k += 2, x += 2 * Q8, y += 2 * Q8)
            {
                var lanes = IntDotAvx512.Q8Lanes(IntDotAvx512.Pair(x + 2, x + Q8 + 2), IntDotAvx512.Pair(y + 2, y + Q8 + 2));
                var f = Avx512F.ConvertToVector512Single(lanes);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), f.GetLower(), acc);
                acc = Fma.MultiplyAdd(Vector256.Create(d[k + 1]), f.GetUpper(), acc);
            }
            if (k < count)
            {
                var lanes = IntDotAvx2.Q8Lanes(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(y + 2)));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    /// <summary>y[r] = Avx512(w + r·rowBytes, a, n) for r &lt; 4, bit for bit. Rows 0/1 and 2/3 share a zmm: the
    /// low half carries the even row's lanes, the high half the odd row's.</summary>
    public static void Avx512Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!Avx512BW.IsSupported || !X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx512(w + r * rowBytes, a, n);
            return;
        }
        const int Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ8_0.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        var spread01 = IntDotAvx512.SpreadRows(0);
        var spread23 = IntDotAvx512.SpreadRows(2);
        var acc01 = Vector512<float>.Zero;
        var acc23 = Vector512<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * Q8, Q8, count).Store(da);
            for (int k = 0, o = b0 * Q8; k < count; k++, o += Q8)
            {
                // The four rows' scales by scalar loads: a 4-lane gather here cost ~12% of the tile's throughput.
                var d = (Fp16Vector.HalfHiToSingleArith(Vector128.Create((int)*(ushort*)(w + o), *(ushort*)(w1 + o), *(ushort*)(w2 + o), *(ushort*)(w3 + o)) << 16) * Vector128.Create(da[k])).ToVector256Unsafe().ToVector512Unsafe();
                var av = IntDotAvx512.Both(a + o + 2);
                var f01 = Avx512F.ConvertToVector512Single(IntDotAvx512.Q8Lanes(IntDotAvx512.Pair(w + o + 2, w1 + o + 2), av));
                var f23 = Avx512F.ConvertToVector512Single(IntDotAvx512.Q8Lanes(IntDotAvx512.Pair(w2 + o + 2, w3 + o + 2), av));
                acc01 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(d, spread01), f01, acc01);
                acc23 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(d, spread23), f23, acc23);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc01.GetLower());
        y[1] = IntDotAvx2.Hsum8(acc01.GetUpper());
        y[2] = IntDotAvx2.Hsum8(acc23.GetLower());
        y[3] = IntDotAvx2.Hsum8(acc23.GetUpper());
    }

    /// <summary>Y[b, r..r+4) for activation rows b in [b0, b1), each bit for bit Avx512: the prompt kernel. Against
    /// Avx512Rows4 called once per activation row, the weight side of each block (|w|, the sign mask, the scales
    /// spread over the row pairs) is prepared once for four activation rows, and the tile's scales are converted
    /// once per tile. Longer rows than the scale buffer holds, and a batch remainder under four rows, use Rows4.</summary>
    [SkipLocalsInit]   // its scale buffers (up to 32 KiB) are written in full before any read: no zero-fill per tile
    private static void Avx512Tile4(MatMulArgs* m, int r, int b0, int b1, int* unused)
    {
        const int Q8 = IntDotAvx2.Q8, MaxBlocks = 256;
        int n = m->Cols, nb = n / BlockQ8_0.QK;
        long rb = m->RowBytes, ars = m->ActRowBytes;
        byte* w = m->W + r * rb;
        int b = b0;
        if (Avx512BW.IsSupported && X86.Avx2.IsSupported && Fma.IsSupported && nb <= MaxBlocks && b1 - b0 >= 4)
        {
            byte* w1 = w + rb, w2 = w + 2 * rb, w3 = w + 3 * rb;
            // dw[32k..32k+16) = (d_row0 ×8, d_row1 ×8), dw[32k+16..32k+32) = (d_row2 ×8, d_row3 ×8) of block k.
            float* dw = stackalloc float[32 * nb];
            var spread01 = IntDotAvx512.SpreadRows(0);
            var spread23 = IntDotAvx512.SpreadRows(2);
            for (int k = 0, o = 0; k < nb; k++, o += Q8)
            {
                var d4 = Fp16Vector.HalfHiToSingleArith(Vector128.Create((int)*(ushort*)(w + o), *(ushort*)(w1 + o), *(ushort*)(w2 + o), *(ushort*)(w3 + o)) << 16)
                    .ToVector256Unsafe().ToVector512Unsafe();
                Avx512F.PermuteVar16x32(d4, spread01).Store(dw + 32 * k);
                Avx512F.PermuteVar16x32(d4, spread23).Store(dw + 32 * k + 16);
            }
            float* da = stackalloc float[4 * IntDotAvx2.Group];
            for (; b + 4 <= b1; b += 4)
            {
                byte* a0 = m->Act + b * ars;
                Vector512<float> p0 = default, q0 = default, p1 = default, q1 = default;
                Vector512<float> p2 = default, q2 = default, p3 = default, q3 = default;
                for (int g = 0; g < nb; g += IntDotAvx2.Group)
                {
                    int count = Math.Min(IntDotAvx2.Group, nb - g);
                    for (int j = 0; j < 4; j++) IntDotAvx2.Halves8(a0 + j * ars + g * Q8, Q8, count).Store(da + 8 * j);
                    for (int k = g, i = 0, o = g * Q8; i < count; k++, i++, o += Q8)
                    {
                        var x01 = IntDotAvx512.Pair(w + o + 2, w1 + o + 2);
                        var x23 = IntDotAvx512.Pair(w2 + o + 2, w3 + o + 2);
                        var n01 = Vector512.LessThan(x01, Vector512<sbyte>.Zero);
                        var n23 = Vector512.LessThan(x23, Vector512<sbyte>.Zero);
                        var u01 = Avx512BW.Abs(x01).AsSByte();
                        var u23 = Avx512BW.Abs(x23).AsSByte();
                        var d01 = Vector512.Load(dw + 32 * k);
                        var d23 = Vector512.Load(dw + 32 * k + 16);
                        byte* ab = a0 + o + 2;
                        Step(ab, u01, n01, u23, n23, d01, d23, da[i], ref p0, ref q0);
                        Step(ab + ars, u01, n01, u23, n23, d01, d23, da[8 + i], ref p1, ref q1);
                        Step(ab + 2 * ars, u01, n01, u23, n23, d01, d23, da[16 + i], ref p2, ref q2);
                        Step(ab + 3 * ars, u01, n01, u23, n23, d01, d23, da[24 + i], ref p3, ref q3);
                    }
                }
                Store(m->Y + b * m->YStride + r, p0, q0);
                Store(m->Y + (b + 1) * m->YStride + r, p1, q1);
                Store(m->Y + (b + 2) * m->YStride + r, p2, q2);
                Store(m->Y + (b + 3) * m->YStride + r, p3, q3);
            }
        }
        for (; b < b1; b++) Avx512Rows4(w, rb, m->Act + b * ars, n, m->Y + b * m->YStride + r);

        // One block of one activation row against the four rows (rows 0/1 in p, 2/3 in q, as Rows4's acc01/acc23).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Step(byte* ab, Vector512<sbyte> u01, Vector512<sbyte> n01, Vector512<sbyte> u23, Vector512<sbyte> n23,
            Vector512<float> d01, Vector512<float> d23, float da, ref Vector512<float> p, ref Vector512<float> q)
        {
            var y = IntDotAvx512.Both(ab);
            var ny = Vector512<sbyte>.Zero - y;
            var s01 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u01.AsByte(), Vector512.ConditionalSelect(n01, ny, y)), Vector512<short>.One);
            var s23 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u23.AsByte(), Vector512.ConditionalSelect(n23, ny, y)), Vector512<short>.One);
            var dv = Vector512.Create(da);
            p = Avx512F.FusedMultiplyAdd(d01 * dv, Avx512F.ConvertToVector512Single(s01), p);
            q = Avx512F.FusedMultiplyAdd(d23 * dv, Avx512F.ConvertToVector512Single(s23), q);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Store(float* y, Vector512<float> p, Vector512<float> q)
        {
            y[0] = IntDotAvx2.Hsum8(p.GetLower());
            y[1] = IntDotAvx2.Hsum8(p.GetUpper());
            y[2] = IntDotAvx2.Hsum8(q.GetLower());
            y[3] = IntDotAvx2.Hsum8(q.GetUpper());
        }
    }

    /// <summary>Y[b, r..r+16) for activation rows b in [b0, b1), each bit for bit Avx512, by the emitted VNNI tile
    /// (Jit/VnniTiles.cs) two activation rows a call. The sixteen rows' bytes are laid out once per tile as eight
    /// piece vectors (IntDotAvx512.RowPieces: int32 lane i = row i's piece c), their sign bits flipped for vpdpbusd's
    /// unsigned operand, and the rows' fp32 scales after them; terms holds the activation's (ActivationTerms). Rows
    /// longer than 512 blocks or without terms (IntGemm's state cap), and an odd activation row left over, take
    /// Avx512Tile4.</summary>
    [SkipLocalsInit]   // its buffer (up to 288 KiB) is written in full before any read
    private static void Avx512VnniTile16(MatMulArgs* m, int r, int b0, int b1, int* terms)
    {
        const int Q8 = IntDotAvx2.Q8, MaxBlocks = 512, TileBlockBytes = VnniTiles.TileBlockBytes;
        int n = m->Cols, nb = n / BlockQ8_0.QK;
        long rb = m->RowBytes;
        byte* w = m->W + r * rb;
        int b = b0;
        if (VnniTiles.Available && rb <= int.MaxValue / 16 && nb <= MaxBlocks && terms != null)
        {
            byte* buffer = stackalloc byte[TileBlockBytes * nb + 64];
            byte* tile = IntDotAvx512.Align64(buffer);
            IntDotAvx512.BuildTile<FlippedBytes>(tile, w, rb, nb, Q8);
            var args = new BlockTileArgs { Tile = tile, ActRowBytes = m->ActRowBytes, Blocks = nb, YStrideBytes = m->YStride * sizeof(float) };
            byte* next = w + 16 * rb;   // the next weight tile, prefetched over the runs
            for (int parts = Math.Max(1, (b1 - b0) / 2); b + 2 <= b1; b += 2)
            {
                IntDotAvx512.PrefetchPart(next, 16 * rb, (b - b0) / 2, parts);
                args.Terms = (byte*)(terms + (b - b0) / 2 * VnniTiles.Q8_0TermsPerBlock * nb);
                args.Act = m->Act + b * m->ActRowBytes + 2;
                args.Y = m->Y + b * m->YStride + r;
                VnniTiles.Q8_0(&args);
            }
        }
        if (b < b1)
            for (int q = 0; q < 16; q += 4) Avx512Tile4(m, r + q, b, b1, null);
    }

    /// <summary>A Q8_0 block's 32 bytes of sixteen rows as piece vectors, sign bits flipped (w + 128, vpdpbusd's
    /// unsigned operand): bytes 0..15 in vectors 0..3, 16..31 in 4..7.</summary>
    private struct FlippedBytes : ITilePieces
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(byte* t, byte* q, long rb)
        {
            var flip = Vector512.Create((byte)0x80);
            IntDotAvx512.RowPieces(q, rb, out var u0, out var u1, out var u2, out var u3);
            IntDotAvx512.StorePieces(t, u0 ^ flip, u1 ^ flip, u2 ^ flip, u3 ^ flip);
            IntDotAvx512.RowPieces(q + 16, rb, out u0, out u1, out u2, out u3);
            IntDotAvx512.StorePieces(t + 256, u0 ^ flip, u1 ^ flip, u2 ^ flip, u3 ^ flip);
        }
    }

    /// <summary>IntGemm's per-batch-tile preparation for Avx512VnniTile16 (TilePairTerms).</summary>
    private static void ActivationTerms(MatMulArgs* m, int b0, int b1, int* state) => TilePairTerms(m, b0, b1, state, false);

    /// <summary>The Q8_0 tile's activation terms (the legacy formats' tiles share it) for Q8_0 (q8_1 false) or Q8_1
    /// activation rows: for rows b0 + 2p + j (j &lt; 2), per block k the pair's terms (VnniTiles.Q8_0TermsPerBlock or
    /// Q8_1TermsPerBlock ints): fp32 d_a at j, the int32 −128·Σ of piece c (quants 4c..4c+3) at 2 + 8j + c, and for
    /// Q8_1 fp32 s_a at 18 + j.</summary>
    internal static void TilePairTerms(MatMulArgs* m, int b0, int b1, int* state, bool q8_1)
    {
        int nb = m->Cols / 32, t = q8_1 ? VnniTiles.Q8_1TermsPerBlock : VnniTiles.Q8_0TermsPerBlock;
        int actBytes = q8_1 ? LegacyAvx2.Q8_1 : IntDotAvx2.Q8, qs = q8_1 ? 4 : 2;
        for (int b = b0; b < b1; b++)
        {
            byte* a = m->Act + b * m->ActRowBytes;
            int j = (b - b0) % 2;
            int* p = state + (b - b0) / 2 * t * nb;
            for (int k = 0; k < nb; k++, a += actBytes, p += t)
            {
                ((float*)p)[j] = Fp16.ToFloat(*(ushort*)a);
                IntDotAvx2.FlipTerms(a + qs).Store(p + 2 + 8 * j);
                if (q8_1) ((float*)p)[VnniTiles.Q8_0TermsPerBlock + j] = Fp16.ToFloat(*(ushort*)(a + 2));
            }
        }
    }

    /// <summary>GemmAvx512 with prompts in the emitted VNNI tiles of sixteen weight rows (Avx512VnniTile16) where
    /// VnniTiles.Available, leftover rows in Avx512Rows4 tiles; decode by the emitted kernel (EmittedDecode) where
    /// VnniDecode.Available.</summary>
    public static void GemmAvx512Vnni(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1 && VnniDecode.Available) EmittedDecode(m, start, end);
        else if (m->Batch == 1 || !VnniTiles.Available) GemmAvx512(m, start, end);
        else IntGemm.Tiled(m, start, end, 16, &Avx512VnniTile16, &ActivationTerms, VnniTiles.Q8_0TermsPerBlock / 2 * (m->Cols / BlockQ8_0.QK),
            4, &Avx512Rows4, &Avx2);
    }

    /// <summary>Row-range product (MatMulArgs contract) in tiles of Avx512Tile4; decode (batch 1) by Avx512Rows4 on
    /// rows far apart (IntGemm.FarRows), its leftover rows by the AVX2 single-row dot (which bench/RESULTS.md measured
    /// 5–25% faster than the 512-bit one on Zen 4).</summary>
    public static void GemmAvx512(MatMulArgs* m, int start, int end)
    {
        if (m->Batch == 1) IntGemm.FarRows(m, start, end, &Avx512Rows4, &Avx2);
        else IntGemm.Tiled(m, start, end, 4, &Avx512Tile4, null, 0, 0, null, &Avx2);
    }
}
