// Decode (batch 1) of Q4_0 matrices in the blockwise spec (ReferenceBlockwise: acc = fma(sumi, d_w·d_a, acc), block
// after block), shared by the AVX2 and AVX-512 paths.
//   That chain is serial, so one row alone is bound by fma latency (~4 cycles a block on Zen 4), and the multi-row
//   kernels that hide it read several interleaved row streams, which read DRAM at about half the rate of one
//   (IntGemm.Tiled). Here a row kernel writes each block's terms (float sumi, and d_w·d_a) to a buffer, and once
//   sixteen (or eight) rows are in, their chains run together, one row per float lane of a ymm, after an 8×8
//   transpose per group of eight blocks. Same chain, same bits, and the integer work no longer waits on it (tinyllama
//   Q4_0 tg 25 → 36 t/s at two threads). The row kernel takes two rows a pass, a row and the one half the range
//   further on: the activation's registers serve both, and two streams far apart keep the hardware prefetchers going
//   where two adjacent rows did not (single-row kernel, 32000×2048 from DRAM: adjacent pair 10–13 GB/s, one row
//   16–17, far pair 18–19.6; tg at two threads +6%).
//   The activation is prepared once per call: its int8s regrouped per four blocks (the four blocks' first 16
//   bytes, then their last 16: the partners of the low and the high nibbles), its fp32 scales, and 8·Σ q_a per
//   block, the "− 8" of every weight, subtracted from each block's int32 sum instead of per int16 pair.
//   Row kernels prefetch the weights into L2 two pages ahead (IntDotAvx2.PrefetchAheadL2).
//   With the emitted kernels (VNNI, VBMI, GFNI), the runs of sixteen rows are one call of VnniDecode's runs kernel,
//   which keeps the terms in a 64-byte slot layout and runs the chains with zmm transposes (sixteen rows a vector):
//   the C# transposes and a call per row pair gone. One thread on Zen 5: 512×2048 from L2 60 → 62 GB/s, 2048×2048
//   from DRAM 34–38 → 45 GB/s; tinyllama Q4_0 tg128 49.3 → 50.6 t/s (means of three interleaved runs of -r 5),
//   two threads within the noise. Rows of 4096 columns and more read DRAM at 25–30 GB/s either way (2048 columns:
//   38–45); splitting them into column pieces made it worse (20 GB/s), and so did running a run's chains inside the
//   next run's first pair (2048×2048 from DRAM 35 GB/s). What slows them: a run of sixteen long rows keeps its terms
//   (22 KiB at 5632 columns) while its weights (50 KiB) pass through the 48 KiB L1 (without the terms' stores, a
//   timing-only experiment, 2048×5632 read 38 GB/s). So rows from 3072 columns go four at a time, a quarter of the
//   range apart, through VnniDecode's four-row kernel, which keeps the four chains in zmm lanes and no terms in
//   memory (a vpermi2ps per block gathers the four rows' terms): 2048×5632 from DRAM 27–29 → 42 GB/s, 1024×8192
//   29 → 44; tinyllama Q4_0 tg128 at one thread 52.7 → 56.5 t/s (three interleaved -r 5 runs each). From L2 it is
//   15% slower than the runs kernel (more shuffles), so shorter rows stay with that.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

/// <summary>The blockwise terms of two group-aligned rows (nb a multiple of 8) in one pass: for row x0, s[k] =
/// float(sumi of block k) and d[k] = fp32(d_w)·da[k]; for row x1 the same at s + next and d + next; from the activation
/// prepared by the decode driver.</summary>
internal unsafe interface IQ4_0DecodeRows
{
    static abstract void Terms2(byte* x0, byte* x1, int nb, sbyte* aq, float* da, int* eights, float* s, float* d, long next);
}

public static unsafe partial class DotQ4_0Q8_0
{
    /// <summary>Rows [start, end) of a batch-1 product, each bit for bit `one` (the path's blockwise single row),
    /// through the row kernel TRow in runs of sixteen, then eight (Runs; callers check Avx2 and Fma).</summary>
    [SkipLocalsInit]   // every buffer is written before it is read
    private static void BlockwiseDecode<TRow>(MatMulArgs* m, int start, int end, delegate*<byte*, byte*, int, float> one)
        where TRow : struct, IQ4_0DecodeRows
    {
        // QuadBlocks: rows from 3072 columns take the emitted four-row kernel (2560: either kernel 40–44 GB/s from
        // DRAM, 4096: four-row 43, runs 35).
        const int Q8 = IntDotAvx2.Q8, G = IntDotAvx2.Group, R = 8, MaxBlocks = 1024, QuadBlocks = 96;
        int n = m->Cols, nb = n / BlockQ4_0.QK;
        int r = start;
        if (nb % G == 0 && nb <= MaxBlocks && end - start >= R)
        {
            byte* a = m->Act;
            sbyte* aq = stackalloc sbyte[32 * nb];
            float* da = stackalloc float[nb];
            int* eights = stackalloc int[nb];
            for (int k = 0; k < nb; k++)
            {
                var q = Vector256.Load((sbyte*)(a + k * Q8 + 2));
                q.GetLower().Store(aq + 128 * (k / 4) + 16 * (k % 4));
                q.GetUpper().Store(aq + 128 * (k / 4) + 64 + 16 * (k % 4));
                da[k] = Fp16.ToFloat(*(ushort*)(a + k * Q8));
                var pairs = X86.Avx2.MultiplyAddAdjacent(Vector256.Create((byte)1), q);
                eights[k] = 8 * Vector256.Sum(X86.Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
            }
            // The terms of sixteen rows: s, then d (the emitted runs kernel's 1 KiB per group), 64-byte aligned.
            // (The emitted kernels run their group loop at least once.)
            bool emitted = typeof(TRow) == typeof(DecodeRowVnni) && m->RowBytes == nb * sizeof(BlockQ4_0) && nb >= G;
            byte* terms = stackalloc byte[128 * nb + 64];
            float* s = (float*)(((nint)terms + 63) & ~(nint)63), d = s + 2 * R * nb;
            if (emitted && nb >= QuadBlocks) r = VnniQuads(m, r, end, nb, aq, da, eights);
            else if (emitted) r = VnniRuns16(m, r, end, nb, aq, da, eights, (byte*)s);
            else r = Runs<TRow>(m, r, end, nb, 2 * R, aq, da, eights, s, d);
            r = Runs<TRow>(m, r, end, nb, R, aq, da, eights, s, d);
        }
        for (; r < end; r++) m->Y[r] = one(m->W + r * m->RowBytes, m->Act, n);
    }

    /// <summary>Rows [start, start + 2·half) of a batch-1 product in runs of `rows` (8 or 16; half the largest
    /// multiple of rows/2 that fits): a run takes rows/2 rows of the range's first half and the rows/2 rows half a
    /// range later, in pairs through TRow, then runs their chains eight rows a ymm (two ymm chains for sixteen rows,
    /// which the out-of-order core overlaps where one chain of eight waited on fma latency: 512×2048 from L2, one
    /// thread, 47 → 57–60 GB/s on Zen 5). Returns the first row not done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Runs<TRow>(MatMulArgs* m, int start, int end, int nb, int rows, sbyte* aq, float* da, int* eights, float* s, float* d)
        where TRow : struct, IQ4_0DecodeRows
    {
        const int G = IntDotAvx2.Group;
        int half = (end - start) / rows * (rows / 2);
        long rb = m->RowBytes;
        for (int i = 0; i < half; i += rows / 2)
        {
            int r0 = start + i, r1 = start + half + i;
            for (int j = 0; j < rows / 2; j++)
                TRow.Terms2(m->W + (r0 + j) * rb, m->W + (r1 + j) * rb, nb, aq, da, eights, s + j * nb, d + j * nb, rows / 2 * nb);
            // Eight rows a chain: the first four of each half's rows (lanes 0..3: r0.., 4..7: r1..), or with sixteen
            // the first half's eight and the second's.
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            for (int g = 0; g < nb; g += G)
            {
                acc0 = ChainStep(s + g, d + g, nb, acc0);
                if (rows == 16) acc1 = ChainStep(s + 8 * nb + g, d + 8 * nb + g, nb, acc1);
            }
            if (rows == 16)
            {
                acc0.Store(m->Y + r0);
                acc1.Store(m->Y + r1);
            }
            else
            {
                acc0.GetLower().Store(m->Y + r0);
                acc0.GetUpper().Store(m->Y + r1);
            }
        }
        return start + 2 * half;
    }

    /// <summary>Eight blocks of eight rows' chains: the terms at s and d (rows stride floats apart) transposed, so
    /// that lane i carries row i, and one fma per block in block order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ChainStep(float* s, float* d, int stride, Vector256<float> acc)
    {
        Transpose8(s, stride, out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
        Transpose8(d, stride, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5, out var d6, out var d7);
        acc = Fma.MultiplyAdd(s0, d0, acc);
        acc = Fma.MultiplyAdd(s1, d1, acc);
        acc = Fma.MultiplyAdd(s2, d2, acc);
        acc = Fma.MultiplyAdd(s3, d3, acc);
        acc = Fma.MultiplyAdd(s4, d4, acc);
        acc = Fma.MultiplyAdd(s5, d5, acc);
        acc = Fma.MultiplyAdd(s6, d6, acc);
        return Fma.MultiplyAdd(s7, d7, acc);
    }

    /// <summary>Rows 0..7 (stride floats apart) of an 8×8 block, transposed: c_k holds column k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* p, int stride, out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2,
        out Vector256<float> c3, out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        var r0 = Vector256.Load(p); var r1 = Vector256.Load(p + stride);
        var r2 = Vector256.Load(p + 2 * stride); var r3 = Vector256.Load(p + 3 * stride);
        var r4 = Vector256.Load(p + 4 * stride); var r5 = Vector256.Load(p + 5 * stride);
        var r6 = Vector256.Load(p + 6 * stride); var r7 = Vector256.Load(p + 7 * stride);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        c0 = Avx.Permute2x128(u0, u4, 0x20); c4 = Avx.Permute2x128(u0, u4, 0x31);
        c1 = Avx.Permute2x128(u1, u5, 0x20); c5 = Avx.Permute2x128(u1, u5, 0x31);
        c2 = Avx.Permute2x128(u2, u6, 0x20); c6 = Avx.Permute2x128(u2, u6, 0x31);
        c3 = Avx.Permute2x128(u3, u7, 0x20); c7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}
