// The driver of the emitted K-quant row kernels (Jit/VnniTiles.cs, EmitKRow): Q6_K, Q5_K and Q3_K prompts, one
// weight row against eight activation rows a call, in the arithmetic of the formats' AVX2 dots. Each row's table is
// built once per row and batch tile, eight rows' at a time, and each group of eight activation rows meets the eight
// tables in turn; the kernel runs the spec's chains over the whole row and Hsum8 here finishes them. Decode (Decode)
// goes a weight row a call to the emitted Q6_K, Q5_K, Q3_K and Q2_K kernels (Jit/VnniDecode.cs).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe class KQuantVnniRows
{
    /// <summary>Super-blocks per row the kernels take (the row table lives on the stack: 52 KiB at most).</summary>
    public const int MaxBlocks = 64;

    /// <summary>A format's row-range product on the AVX-512 path: a prompt batch of rows of at most MaxBlocks
    /// super-blocks, with the kernels in place, goes eight weight rows at a time to rows8 and the rest a row at a time
    /// to row1 (both call Row), or a row at a time when eight rows' tables would pass TablesBytes; anything else,
    /// decode included, to the format's AVX2 product avx2Gemm (one: its single-row dot). With
    /// <paramref name="flipped"/> (Q3_K) each batch tile first gets its activation copy (PrepareFlipped).</summary>
    public static void Gemm(MatMulArgs* m, int start, int end, delegate*<MatMulArgs*, int, int, int, int*, void> rows8,
        delegate*<MatMulArgs*, int, int, int, int*, void> row1, delegate*<byte*, byte*, int, float> one,
        delegate*<MatMulArgs*, int, int, void> avx2Gemm, bool flipped = false)
    {
        int nb = m->Cols / 256;
        if (m->Batch > 1 && VnniTiles.Available && Avx512BW.IsSupported && Avx2.IsSupported && Fma.IsSupported && nb <= MaxBlocks)
        {
            // A row's table: Q3_K's, or Q6_K's (Q5_K's is the same size).
            long tableBytes = 64L * VnniTiles.KRowTableVectors(flipped ? KRowForm.Q3_K : KRowForm.Q6_K) * nb;
            bool eight = 8 * tableBytes <= TablesBytes;
            delegate*<MatMulArgs*, int, int, int*, void> prepare = flipped ? &PrepareFlipped : null;
            int stateInts = flipped ? nb * KQuantAvx2.Q8K / sizeof(int) : 0;
            if (eight) IntGemm.Tiled(m, start, end, 8, rows8, 1, row1, prepare, stateInts, 0, null, one);
            else IntGemm.Tiled(m, start, end, 1, row1, prepare, stateInts, 0, null, one);
        }
        else avx2Gemm(m, start, end);
    }

    /// <summary>Most bytes of row tables Row keeps on the stack for a call of several rows.</summary>
    private const int TablesBytes = 256 * 1024;

    /// <summary>Weight rows per call of Row (a type argument, so that each count has its own function
    /// pointer).</summary>
    public interface IRows { static abstract int Count { get; } }

    public readonly struct OneRow : IRows { public static int Count => 1; }

    public readonly struct EightRows : IRows { public static int Count => 8; }

    /// <summary>Bytes of activation terms the emitted decode kernels may keep on the stack (KLanesDecodeArgs.Terms).</summary>
    private const int DecodeTermsBytes = 64 * 1024;

    /// <summary>The emitted decode kernels are in place for this product: batch 1, a row of at least one super-block,
    /// the activation's terms (termsPerBlock int16 per super-block) within DecodeTermsBytes, and its prepared copy
    /// (preparedBytes per super-block, Decode's prepare) within DecodePreparedBytes.</summary>
    public static bool DecodeAvailable(MatMulArgs* m, int termsPerBlock, int preparedBytes = 0) =>
        m->Batch == 1 && VnniDecode.Available && m->Cols / 256 is > 0 and var nb
        && (long)nb * termsPerBlock * sizeof(short) <= DecodeTermsBytes && (long)nb * preparedBytes <= DecodePreparedBytes;

    /// <summary>Bytes of prepared activation the emitted decode kernels may keep on the stack.</summary>
    private const int DecodePreparedBytes = 64 * 1024;

    /// <summary>Q6_K's and Q5_K's activation terms: per super-block the sixteen bsums negated.</summary>
    public const int NegatedSumsPerBlock = 16;

    public static void NegatedSums(BlockQ8_K* y, short* t) => (Vector256<short>.Zero - Vector256.Load(y->BSums)).Store(t);

    /// <summary>How the dot finishes what an emitted decode kernel leaves in KLanesDecodeArgs.Lanes.</summary>
    public enum DecodeFinish
    {
        /// <summary>Hsum8 of the eight lanes (Q6_K, Q3_K).</summary>
        Lanes,
        /// <summary>Hsum8 of the eight lanes plus the scalar chain after them (Q5_K).</summary>
        LanesAndSumms,
        /// <summary>Chain 0 minus chain 1 (Q2_K's blockwise acc − accm).</summary>
        Difference,
    }

    /// <summary>Rows [start, end) of a batch-1 product through an emitted decode kernel (Jit/VnniDecode.cs: EmitQ6_K,
    /// EmitQ5_K, EmitQ3_K, EmitQ2_K), each bit for bit the format's AVX2 dot: the kernel runs the row's chains and
    /// <paramref name="finish"/> says how the dot ends. The activation's terms (termsPerBlock int16 per super-block, by
    /// <paramref name="terms"/>, none when it is null) are formed once per call, and so is, with
    /// <paramref name="prepare"/>, the kernel's copy of the activation (<paramref name="preparedBytes"/> a super-block,
    /// 64-byte aligned), which it then reads instead of the Q8_K blocks. Callers check DecodeAvailable.</summary>
    [SkipLocalsInit]   // every buffer is written before it is read
    public static void Decode(MatMulArgs* m, int start, int end, delegate*<KLanesDecodeArgs*, void> kernel, DecodeFinish finish,
        delegate*<BlockQ8_K*, short*, void> terms, int termsPerBlock, delegate*<BlockQ8_K*, byte*, void> prepare = null,
        int preparedBytes = 0)
    {
        int nb = m->Cols / 256;
        var y = (BlockQ8_K*)m->Act;
        short* t = stackalloc short[termsPerBlock * nb];
        if (terms != null)
            for (int k = 0; k < nb; k++) terms(y + k, t + termsPerBlock * k);
        byte* raw = stackalloc byte[(prepare != null ? preparedBytes * nb : 0) + 63];
        byte* act = m->Act;
        if (prepare != null)
        {
            act = IntDotAvx512.Align64(raw);
            for (int k = 0; k < nb; k++) prepare(y + k, act + preparedBytes * k);
        }
        float* lanes = stackalloc float[16];
        var args = new KLanesDecodeArgs { Blocks = nb, Act = act, Terms = t, Lanes = lanes, Constants = VnniDecode.ConstantTable };
        for (int i = 0; i < end - start; i++)
        {
            int r = MatMul.MatMul.TwoStreamRow(start, end, i);
            args.X = m->W + r * m->RowBytes;
            kernel(&args);
            m->Y[r] = finish switch
            {
                DecodeFinish.Lanes => Reductions.Hsum8(lanes),
                DecodeFinish.LanesAndSumms => Reductions.Hsum8(lanes) + lanes[8],
                _ => lanes[0] - lanes[1],
            };
        }
    }

    /// <summary>IntGemm's per-batch-tile preparation for the Q3_K kernel: activation row b0 + i's Q8_K blocks copied
    /// to state + i·RowBytes with each quant + 128 (as unsigned bytes: q ^ 0x80) and d as it is (the bsums are not
    /// read).</summary>
    private static void PrepareFlipped(MatMulArgs* m, int b0, int b1, int* state)
    {
        int nb = m->Cols / 256;
        var flip = Vector512.Create((byte)0x80);
        for (int b = b0; b < b1; b++)
        {
            byte* src = m->Act + b * m->ActRowBytes, dst = (byte*)state + (b - b0) * (long)nb * KQuantAvx2.Q8K;
            for (int s = 0; s < nb; s++, src += KQuantAvx2.Q8K, dst += KQuantAvx2.Q8K)
            {
                *(float*)dst = *(float*)src;
                for (int k = 0; k < 4; k++) (Vector512.Load(src + 4 + 64 * k) ^ flip).Store(dst + 4 + 64 * k);
            }
        }
    }

    /// <summary>Y[b, r..r+rows) for activation rows b in [b0, b1), each bit for bit <paramref name="one"/>:
    /// table(block, entry) fills each row's table a super-block at a time (blockBytes apart), groups of eight
    /// activation rows go through the kernel, a group of four through acts4 and the rest through one. Q5_K's results
    /// add the kernel's summs chain (Hsum8(acc) + summs); Q3_K's kernel reads the flipped activation copy in state
    /// (PrepareFlipped; without it its rows go through acts4). Each group of activation rows meets all the rows'
    /// tables in turn: its blocks (eight rows of Q8_K, 2.3 KiB a super-block) then stay in L1 while the tables (576 or
    /// 832 bytes a super-block) stream past, where a row at a time streamed the activation rows from L2 for every
    /// weight row.</summary>
    [SkipLocalsInit]   // the tables are written before they are read
    public static void Row(MatMulArgs* m, int r, int rows, int b0, int b1, int blockBytes, delegate*<byte*, Vector512<byte>*, void> table,
        delegate*<KRowArgs*, void> kernel, KRowForm form, int* state, delegate*<byte*, byte*, long, int, float*, long, void> acts4,
        delegate*<byte*, byte*, int, float> one)
    {
        bool mins = form == KRowForm.Q5_K;
        int nb = m->Cols / 256;
        int vectors = VnniTiles.KRowTableVectors(form);
        long tableBytes = 64L * vectors * nb;
        byte* raw = stackalloc byte[(int)(tableBytes * rows) + 63];
        byte* tables = IntDotAvx512.Align64(raw);   // the kernel's table loads stay within cache lines
        for (int i = 0; i < rows; i++)
        {
            byte* x = m->W + (r + i) * m->RowBytes;
            var t = (Vector512<byte>*)(tables + i * tableBytes);
            for (int k = 0; k < nb; k++) table(x + k * blockBytes, t + vectors * k);
        }
        var chains = stackalloc Vector256<float>[VnniTiles.KRowChainBytes / 32];
        float* da = stackalloc float[mins ? 8 * nb : 0];   // Q5_K: per super-block the group's eight d_a
        long ars = m->ActRowBytes;
        // The kernel's activation rows: Q3_K's flipped copy (rows nb·Q8K apart from b0), the others' own.
        bool copy = form == KRowForm.Q3_K;
        byte* kernelAct = copy ? (byte*)state : m->Act + b0 * ars;
        long kernelStride = copy ? (long)nb * KQuantAvx2.Q8K : ars;
        int b = b0;
        byte* next = m->W + (r + rows) * m->RowBytes;   // the next call's weight rows, prefetched over the runs
        for (int parts = (b1 - b0 + 7) / 8; b + 8 <= b1 && (!copy || state != null); b += 8)
        {
            IntDotAvx512.PrefetchPart(next, rows * m->RowBytes, (b - b0) / 8, parts);
            if (mins)
            {
                for (int k = 0; k < nb; k++)
                    for (int j = 0; j < 8; j++) da[8 * k + j] = *(float*)(m->Act + (b + j) * ars + k * KQuantAvx2.Q8K);
            }
            for (int i = 0; i < rows; i++)
            {
                chains[8] = Vector256<float>.Zero;   // the summs chains start at 0
                var args = new KRowArgs
                {
                    Table = tables + i * tableBytes, Chains = (float*)chains, Act = kernelAct + (b - b0) * kernelStride + 4,
                    ActRowBytes = kernelStride, Blocks = nb, Da = da,
                };
                kernel(&args);
                for (int j = 0; j < 8; j++)
                {
                    float y = IntDotAvx2.Hsum8(chains[j]);
                    m->Y[(b + j) * m->YStride + r + i] = mins ? y + chains[8].GetElement(j) : y;
                }
            }
        }
        for (int i = 0; i < rows; i++)
        {
            byte* x = m->W + (r + i) * m->RowBytes;
            int c = b;
            for (; c + 4 <= b1; c += 4) acts4(x, m->Act + c * ars, ars, m->Cols, m->Y + c * m->YStride + r + i, m->YStride);
            for (; c < b1; c++) m->Y[c * m->YStride + r + i] = one(x, m->Act + c * ars, m->Cols);
        }
    }
}
