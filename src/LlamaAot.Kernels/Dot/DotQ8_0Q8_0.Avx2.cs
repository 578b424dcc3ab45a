// AVX2 Q8_0 · Q8_0 dots, and the AVX2 pieces every integer dot path shares (IntDotAvx2).
//   Integer part: ggml's mul_sum_i8_pairs. vpmaddubsw multiplies unsigned × signed bytes, so the weight goes in as
//   |w| and the activation takes w's sign (vpsignb); adjacent products are summed to int16, then vpmaddwd with ones
//   sums adjacent int16 pairs — int32 lane j is exactly the spec's lane: elements 4j..4j+3. |w| of -128 is 128 as an
//   unsigned byte, so every weight byte works; the activation must be in [-127, 127] (negating -128 overflows),
//   which QuantizeQ8_0 guarantees. Pair sums stay ≤ 2·128·127 < 2^15, so vpmaddubsw never saturates.
//   Float part: one fma per lane per block in block order into one ymm accumulator, then Hsum8 — the spec itself.
//   Scales: fp16 → fp32 for a group of 8 blocks at once (scalar loads packed into a vector, converted with
//   Fp16Vector), d = d_w · d_a kept on the stack for the loop's broadcasts. The multi-row kernels load the rows'
//   scales of one block the same way (Halves4/Halves8 by stride; no vpgatherdd, see Halves8). No
//   kernel calls out while its accumulators are live: vector registers are caller-saved, and a call in the loop nest
//   made the JIT keep the accumulators in memory, turning the fma chain into a store-load chain (2x slower).
//   The single row is bound by its fma chain (4 cycles a block on Zen 4); Rows4 runs four independent chains against
//   one activation row, which is what decode's matrix-vector product needs.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

/// <summary>AVX2 building blocks of the Q8_0/Q4_0 dots; callers check Avx2 and Fma.</summary>
internal static unsafe class IntDotAvx2
{
    public const int Q8 = 34;        // sizeof(BlockQ8_0): fp16 d, 32 × int8
    public const int Q4 = 18;        // sizeof(BlockQ4_0): fp16 d, 16 bytes of nibbles
    public const int Group = 8;      // blocks whose scales are converted together

    /// <summary>The fp16 values p[k·stride], k &lt; 4 → fp32, from scalar loads (see Halves8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Halves4(byte* p, long stride)
    {
        ulong h = *(ushort*)p | (ulong)*(ushort*)(p + stride) << 16 | (ulong)*(ushort*)(p + 2 * stride) << 32 | (ulong)*(ushort*)(p + 3 * stride) << 48;
        return Fp16Vector.HalfHiToSingleArith(Sse41.ConvertToVector128Int32(Vector128.CreateScalar(h).AsUInt16()) << 16);
    }

    /// <summary>Offsets of the scales of a group of up to eight blocks `stride` apart; lanes past `count` repeat the
    /// last block, so a short group never reads past its last block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> GroupOffsets(int stride, int count) =>
        Vector256.Min(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(count - 1)) * Vector256.Create(stride);

    /// <summary>Prefetches `lines` cache lines starting a page (4 KiB) past p. The K-quant decode row kernels call it
    /// once per super-block: the hardware prefetchers stop at page boundaries, and these compute-heavy streams lose
    /// from their restarts (Q4_K_M tg +5% at two threads). Prefetches never fault, so running past the tensor is
    /// harmless.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchAhead(byte* p, [ConstantExpected(Min = 1, Max = 4)] int lines)
    {
        const int Ahead = 4096;
        X86.Sse.Prefetch0(p + Ahead);
        if (lines > 1) X86.Sse.Prefetch0(p + Ahead + 64);
        if (lines > 2) X86.Sse.Prefetch0(p + Ahead + 128);
        if (lines > 3) X86.Sse.Prefetch0(p + Ahead + 192);
    }

    /// <summary>How far ahead of its reads the Q4_0 decode prefetches into L2: two pages.</summary>
    public const int L2PrefetchDistance = 8192;

    /// <summary>Prefetches `lines` cache lines into L2 (prefetcht1), L2PrefetchDistance past p: PrefetchAhead for the
    /// Q4_0 decode row kernels, whose streams go faster than the K-quants'. Into L1 one page ahead they left its few
    /// miss buffers busy and the stream from DRAM stalled; into L2 two pages ahead, tinyllama Q4_0 tg at two threads
    /// went 44–46 → 50–51 t/s with the intrinsic row kernel (with the emitted one 32000×2048 from DRAM, one thread,
    /// 18–20 → 23–25 GB/s). The K-quant kernels lost 3–4% at one thread this way, so they keep PrefetchAhead.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchAheadL2(byte* p, [ConstantExpected(Min = 1, Max = 4)] int lines)
    {
        X86.Sse.Prefetch1(p + L2PrefetchDistance);
        if (lines > 1) X86.Sse.Prefetch1(p + L2PrefetchDistance + 64);
        if (lines > 2) X86.Sse.Prefetch1(p + L2PrefetchDistance + 128);
        if (lines > 3) X86.Sse.Prefetch1(p + L2PrefetchDistance + 192);
    }

    /// <summary>The 4 bytes at p + k·stride of blocks k &lt; 8 (k clamped to count − 1, so a short group never reads
    /// past its last block), by eight scalar loads. The Q4_1/Q5_1 dots take their (d, m) and (d, s) pairs this way:
    /// with a vpgatherdd (and the vpmulld forming its offsets) Q4_1 decode in the model was 7–11% slower. (The K-quant
    /// dots keep their gathers: there the scalar loads measured faster alone but 4–9% slower in the model at two
    /// threads.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Words8(byte* p, long stride, int count)
    {
        long c = count - 1;
        return Vector256.Create(*(int*)p, *(int*)(p + Math.Min(1, c) * stride), *(int*)(p + Math.Min(2, c) * stride),
            *(int*)(p + Math.Min(3, c) * stride), *(int*)(p + Math.Min(4, c) * stride), *(int*)(p + Math.Min(5, c) * stride),
            *(int*)(p + Math.Min(6, c) * stride), *(int*)(p + c * stride));
    }

    /// <summary>The fp16 values p[k·stride], k &lt; 8 (k clamped to count − 1, so a short group never reads past its
    /// last block) → fp32, without a gather: eight scalar loads packed into two 64-bit words. On Zen 4 a vpgatherdd
    /// per eight blocks cost the single-row dots about 3 cycles a block — half their time (measured: Q4_0 decode
    /// 8.8 → 15 GB/s with the scales taken out of the gather). The multi-row kernels use it too: under qemu's AVX2
    /// emulation (the CI's Haswell run) their gathered scales came out wrong in every lane but the first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Halves8(byte* p, long stride, int count)
    {
        ulong lo, hi;
        if (count == Group)
        {
            lo = *(ushort*)p | (ulong)*(ushort*)(p + stride) << 16 | (ulong)*(ushort*)(p + 2 * stride) << 32 | (ulong)*(ushort*)(p + 3 * stride) << 48;
            hi = *(ushort*)(p + 4 * stride) | (ulong)*(ushort*)(p + 5 * stride) << 16 | (ulong)*(ushort*)(p + 6 * stride) << 32 | (ulong)*(ushort*)(p + 7 * stride) << 48;
        }
        else
        {
            long c = count - 1;
            lo = *(ushort*)p | (ulong)*(ushort*)(p + Math.Min(1, c) * stride) << 16 | (ulong)*(ushort*)(p + Math.Min(2, c) * stride) << 32
                | (ulong)*(ushort*)(p + Math.Min(3, c) * stride) << 48;
            hi = *(ushort*)(p + Math.Min(4, c) * stride) | (ulong)*(ushort*)(p + Math.Min(5, c) * stride) << 16
                | (ulong)*(ushort*)(p + Math.Min(6, c) * stride) << 32 | (ulong)*(ushort*)(p + c * stride) << 48;
        }
        var h = X86.Avx2.ConvertToVector256Int32(Vector128.Create(lo, hi).AsUInt16());
        return Fp16Vector.HalfHiToSingleArithNormalFirst(h << 16);
    }

    /// <summary>d[k] = fp32(d of weight block k) · fp32(d of activation block k) for a group of blocks — the spec's
    /// per-block product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scales8(byte* w, int wStride, byte* a, int count) =>
        Halves8(w, wStride, count) * Halves8(a, Q8, count);

    /// <summary>The eight int32 −128·(q[4j] + .. + q[4j + 3]) of the 32 activation quants at q: what vpdpbusd over
    /// sign-flipped weights (w + 128 as unsigned bytes) must start from to give the spec's lanes Σ w·q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> FlipTerms(byte* q)
    {
        var pairs = X86.Avx2.MultiplyAddAdjacent(Vector256.Create((byte)1), Vector256.Load((sbyte*)q));
        return X86.Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)-128));
    }

    /// <summary>Spec lanes of one Q8_0 pair: lane j = Σ x[i]·y[i], i = 4j..4j+3 (y in [-127, 127]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Q8Lanes(Vector256<sbyte> x, Vector256<sbyte> y)
    {
        var p16 = X86.Avx2.MultiplyAddAdjacent(X86.Avx2.Abs(x), X86.Avx2.Sign(y, x));
        return X86.Avx2.MultiplyAddAdjacent(p16, Vector256<short>.One);
    }

    /// <summary>The 32 nibbles of a Q4_0 block as bytes 0..15 in element order: low nibbles in the low half
    /// (elements 0..15), high nibbles in the high half (16..31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(byte* qs)
    {
        var q = Vector128.Load(qs);
        return Vector256.Create(q, (q.AsUInt16() >>> 4).AsByte()) & Vector256.Create((byte)0x0F);
    }

    /// <summary>8·(y[2i] + y[2i+1]) as int16: the "−8" of Q4_0 applied once per activation block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Eights(Vector256<sbyte> y) =>
        X86.Avx2.MultiplyAddAdjacent(Vector256.Create((byte)8), y);

    /// <summary>Spec lanes of one Q4_0 · Q8_0 pair from unsigned nibbles: Σ (n − 8)·y = Σ n·y − 8·Σ y, formed per
    /// int16 pair (|Σ n·y| ≤ 3840, |8·Σ y| ≤ 2048, so nothing saturates), then summed to int32 quads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Q4Lanes(Vector256<byte> nib, Vector256<sbyte> y, Vector256<short> eights) =>
        X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(nib, y) - eights, Vector256<short>.One);

    /// <summary>Σ over each 128-bit half of four vectors: half h of the result holds (Σ v0.h, Σ v1.h, Σ v2.h, Σ v3.h).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Reduce4(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3)
    {
        var a = X86.Avx2.UnpackLow(v0, v1) + X86.Avx2.UnpackHigh(v0, v1);   // (v0₀+v0₂, v1₀+v1₂, v0₁+v0₃, v1₁+v1₃)
        var b = X86.Avx2.UnpackLow(v2, v3) + X86.Avx2.UnpackHigh(v2, v3);
        return X86.Avx2.UnpackLow(a.AsInt64(), b.AsInt64()).AsInt32() + X86.Avx2.UnpackHigh(a.AsInt64(), b.AsInt64()).AsInt32();
    }

    /// <summary>Reductions.Hsum8 on a register: (lo128 + hi128), then (0+2) + (1+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Hsum8(Vector256<float> acc)
    {
        var t = acc.GetLower() + acc.GetUpper();
        return (t.GetElement(0) + t.GetElement(2)) + (t.GetElement(1) + t.GetElement(3));
    }
}

/// <summary>Row-range products built from multi-row kernels (tile rows at a time against one activation row, then a
/// smaller tile) with the single-row dot for leftover rows. Each output is bit-identical to one call of the single-row
/// dot, so results do not depend on tiling; the loop order is MatMul.Rows's (a tile of weight rows stays in cache
/// while a tile of activation rows passes).</summary>
internal static unsafe class IntGemm
{
    /// <summary>Activation rows per batch tile for the row kernels (Tile): they re-read every activation row once per
    /// weight tile, so the batch tile's rows should stay in L2.</summary>
    private const int BatchTile = 64;

    /// <summary>Activation rows per batch tile for the batch kernels (the prompt tiles, which unpack or tabulate their
    /// weight tile once per batch tile and stream the activation rows past it in groups of eight). Measured on Zen 4,
    /// one thread, batch 512: against 64, 128 gives Q4_0 32000×2048 +5% (317 → 332 GOPS), Q4_K 5632×2048 +8%, Q6_K
    /// +5.5%, Q5_K +3%, Q4_0 and Q8_0 2048×2048 at batch 128 +3%; 256 and 512 gave no more.</summary>
    private const int KernelBatchTile = 128;

    public static void Tiled(MatMulArgs* m, int start, int end, int tile, delegate*<byte*, long, byte*, int, float*, void> rows,
        delegate*<byte*, byte*, int, float> one) => Tiled(m, start, end, tile, rows, 0, null, one);

    public static void Tiled(MatMulArgs* m, int start, int end, int tile, delegate*<byte*, long, byte*, int, float*, void> rows,
        int tile2, delegate*<byte*, long, byte*, int, float*, void> rows2, delegate*<byte*, byte*, int, float> one)
    {
        if (m->Batch == 1)
        {
            // Decode: one weight stream at a time. Measured on Zen 4 (32000×2048 Q8_0, one thread), the single-row
            // dot reads 16–17 GB/s from DRAM while the 4-row kernel on adjacent rows, faster in cache, falls to ~9
            // GB/s: four interleaved row streams close together defeat the prefetchers (a 2-row Q4_0 blockwise
            // kernel, faster in cache, also lost from DRAM). Rows far apart do not (FarRows, which Q8_0 uses).
            for (int r = start; r < end; r++) m->Y[r] = one(m->W + r * m->RowBytes, m->Act, m->Cols);
            return;
        }
        Batched(m, start, end, tile, null, rows, tile2, rows2, one);
    }

    /// <summary>Largest per-batch-tile state Tiled keeps on the stack for a batch kernel (the Q8_0 VNNI tile's terms,
    /// 36 bytes per block and activation row: a full batch tile for rows of up to 113 blocks, fewer activation rows
    /// for longer ones; the Q4_0 tiles' 8 bytes, a full tile up to 512 blocks).</summary>
    private const int StateBytes = 512 * 1024;

    /// <summary>As Tiled, with the main tile computed by a kernel that takes the whole block of activation rows
    /// [b0, b1) at once (so it can convert the tile's weight scales once and share weight unpacking across rows).
    /// prepare, when given, runs once per block of activation rows, before all its weight tiles, and fills state with
    /// stateInts ints per activation row for the kernel to read; when that would exceed StateBytes the kernel gets
    /// state = null and works without it.</summary>
    public static void Tiled(MatMulArgs* m, int start, int end, int tile, delegate*<MatMulArgs*, int, int, int, int*, void> batchTile,
        delegate*<MatMulArgs*, int, int, int*, void> prepare, int stateInts,
        int tile2, delegate*<byte*, long, byte*, int, float*, void> rows2, delegate*<byte*, byte*, int, float> one) =>
        Tiled(m, start, end, tile, batchTile, 0, null, prepare, stateInts, tile2, rows2, one);

    /// <summary>As Tiled with a batch kernel, with a second batch kernel (tileB rows, same state) for the rows that
    /// remain before rows2: a wider tile can then take most rows.</summary>
    [SkipLocalsInit]   // prepare writes the state in full before the kernel reads it: no 512 KiB zero-fill per call
    public static void Tiled(MatMulArgs* m, int start, int end, int tile, delegate*<MatMulArgs*, int, int, int, int*, void> batchTile,
        int tileB, delegate*<MatMulArgs*, int, int, int, int*, void> batchTileB, delegate*<MatMulArgs*, int, int, int*, void> prepare,
        int stateInts, int tile2, delegate*<byte*, long, byte*, int, float*, void> rows2, delegate*<byte*, byte*, int, float> one)
    {
        if (m->Batch == 1)
        {
            for (int r = start; r < end; r++) m->Y[r] = one(m->W + r * m->RowBytes, m->Act, m->Cols);
            return;
        }
        // Long rows take fewer activation rows per batch tile (whole groups of eight), so that their state still fits
        // (7B's ffn_down in Q8_0: 40 instead of 128; without the terms its products ran 4.4x slower).
        int acts = KernelBatchTile;
        while (acts > 8 && (long)stateInts * acts * sizeof(int) > StateBytes) acts -= 8;
        int* state = null;
        if (prepare != null && (long)stateInts * acts * sizeof(int) <= StateBytes)
        {
            int* buffer = stackalloc int[stateInts * acts];
            state = buffer;
        }
        Batched(m, start, end, tile, batchTile, null, tile2, rows2, one, state != null ? prepare : null, state, acts, tileB, batchTileB);
    }

    private static void Batched(MatMulArgs* m, int start, int end, int tile, delegate*<MatMulArgs*, int, int, int, int*, void> batchTile,
        delegate*<byte*, long, byte*, int, float*, void> rows, int tile2, delegate*<byte*, long, byte*, int, float*, void> rows2,
        delegate*<byte*, byte*, int, float> one, delegate*<MatMulArgs*, int, int, int*, void> prepare = null, int* state = null,
        int acts = BatchTile, int tileB = 0, delegate*<MatMulArgs*, int, int, int, int*, void> batchTileB = null)
    {
        for (int b0 = 0; b0 < m->Batch; b0 += acts)
        {
            int b1 = Math.Min(m->Batch, b0 + acts);
            if (prepare != null) prepare(m, b0, b1, state);
            int r = start;
            for (; r + tile <= end; r += tile)
            {
                if (batchTile != null) batchTile(m, r, b0, b1, state);
                else Tile(m, r, b0, b1, rows);
            }
            if (batchTileB != null)
            {
                for (; r + tileB <= end; r += tileB) batchTileB(m, r, b0, b1, state);
            }
            if (tile2 > 0)
            {
                for (; r + tile2 <= end; r += tile2) Tile(m, r, b0, b1, rows2);
            }
            for (; r < end; r++)
            {
                byte* w = m->W + r * m->RowBytes;
                for (int b = b0; b < b1; b++) m->Y[b * m->YStride + r] = one(w, m->Act + b * m->ActRowBytes, m->Cols);
            }
        }
    }

    /// <summary>Prompts in tiles of rows4 (Tiled), decode by rows4 on rows far apart (FarRows).</summary>
    public static void Rows4(MatMulArgs* m, int start, int end, delegate*<byte*, long, byte*, int, float*, void> rows4,
        delegate*<byte*, byte*, int, float> one)
    {
        if (m->Batch == 1) FarRows(m, start, end, rows4, one);
        else Tiled(m, start, end, 4, rows4, one);
    }

    /// <summary>Decode (batch 1) by a four-row kernel on rows a quarter of the range apart: for a range of 4q rows,
    /// rows i, i + q, i + 2q, i + 3q in one call (rows4 with q rows' bytes as its row stride), four fma chains at once
    /// from four streams far apart in memory, which the hardware prefetchers follow where four adjacent rows
    /// defeated them (see Tiled). The range's last (size mod 4) rows take the single-row dot.</summary>
    public static void FarRows(MatMulArgs* m, int start, int end, delegate*<byte*, long, byte*, int, float*, void> rows4,
        delegate*<byte*, byte*, int, float> one)
    {
        int q = (end - start) / 4;
        float* y = stackalloc float[4];
        long rb = m->RowBytes;
        for (int i = 0; i < q; i++)
        {
            rows4(m->W + (start + i) * rb, q * rb, m->Act, m->Cols, y);
            for (int j = 0; j < 4; j++) m->Y[start + j * q + i] = y[j];
        }
        for (int r = start + 4 * q; r < end; r++) m->Y[r] = one(m->W + r * rb, m->Act, m->Cols);
    }

    private static void Tile(MatMulArgs* m, int r, int b0, int b1, delegate*<byte*, long, byte*, int, float*, void> rows)
    {
        byte* w = m->W + r * m->RowBytes;
        for (int b = b0; b < b1; b++) rows(w, m->RowBytes, m->Act + b * m->ActRowBytes, m->Cols, m->Y + b * m->YStride + r);
    }
}

public static unsafe partial class DotQ8_0Q8_0
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        const int Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ8_0.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * Q8, y = a + b0 * Q8;
            IntDotAvx2.Scales8(x, Q8, y, count).Store(d);
            for (int k = 0; k < count; k++, x += Q8, y += Q8)
            {
                var lanes = IntDotAvx2.Q8Lanes(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(y + 2)));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    /// <summary>y[r] = Avx2(w + r·rowBytes, a, n) for r &lt; 4, bit for bit; the four rows share each activation load.</summary>
    public static void Avx2Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx2(w + r * rowBytes, a, n);
            return;
        }
        const int Q8 = IntDotAvx2.Q8;
        int nb = n / BlockQ8_0.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        float* d = stackalloc float[4];
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * Q8, Q8, count).Store(da);
            for (int k = 0, o = b0 * Q8; k < count; k++, o += Q8)
            {
                (IntDotAvx2.Halves4(w + o, rowBytes) * Vector128.Create(da[k])).Store(d);
                var av = Vector256.Load((sbyte*)(a + o + 2));
                var l0 = IntDotAvx2.Q8Lanes(Vector256.Load((sbyte*)(w + o + 2)), av);
                var l1 = IntDotAvx2.Q8Lanes(Vector256.Load((sbyte*)(w1 + o + 2)), av);
                var l2 = IntDotAvx2.Q8Lanes(Vector256.Load((sbyte*)(w2 + o + 2)), av);
                var l3 = IntDotAvx2.Q8Lanes(Vector256.Load((sbyte*)(w3 + o + 2)), av);
                acc0 = Fma.MultiplyAdd(Vector256.Create(d[0]), Avx.ConvertToVector256Single(l0), acc0);
                acc1 = Fma.MultiplyAdd(Vector256.Create(d[1]), Avx.ConvertToVector256Single(l1), acc1);
                acc2 = Fma.MultiplyAdd(Vector256.Create(d[2]), Avx.ConvertToVector256Single(l2), acc2);
                acc3 = Fma.MultiplyAdd(Vector256.Create(d[3]), Avx.ConvertToVector256Single(l3), acc3);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc0);
        y[1] = IntDotAvx2.Hsum8(acc1);
        y[2] = IntDotAvx2.Hsum8(acc2);
        y[3] = IntDotAvx2.Hsum8(acc3);
    }

    /// <summary>Row-range product (MatMulArgs contract) in tiles of Avx2Rows4; decode (batch 1) by Avx2Rows4 on rows
    /// far apart (IntGemm.FarRows).</summary>
    public static void GemmAvx2(MatMulArgs* m, int start, int end) => IntGemm.Rows4(m, start, end, &Avx2Rows4, &Avx2);
}
