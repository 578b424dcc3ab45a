// Attention of one query head over a run of cached positions, in one pass with an online softmax (flash attention),
// as llama.cpp's CPU backend computes it (ggml_compute_forward_flash_attn_ext_f16): the query is rounded to the
// cache's element type, scores are that type's dot times the scale, and the running value sum is kept in the cache's
// element type — for an fp16 cache that accumulator is fp16 and is rounded after every update.
using System.Runtime.CompilerServices;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

/// <summary>Everything one attention call needs: the query heads that share one kv head (grouped-query attention),
/// for a run of consecutive tokens of a causal batch. The caller owns the scratch buffer.</summary>
public unsafe struct AttentionArgs
{
    public float* Query;        // first token's first query head (head_dim); the group's heads are HeadStride floats apart
    public float* Output;       // first token's first output head (head_dim), same strides
    public int Heads;           // query heads sharing this kv head (≥ 1)
    public int HeadStride;
    public int Tokens;          // consecutive tokens (≥ 1): token i attends positions 0..Positions+i-1
    public long TokenStride;    // floats from one token's query (and output) to the next
    public byte* Keys;          // first key of this kv head; positions RowBytes apart
    public byte* Values;        // first value of this kv head; positions RowBytes apart
    public long RowBytes;
    public int Positions;       // the first token attends to positions 0..Positions-1
    public int HeadDim;
    public float Scale;         // 1/sqrt(head_dim)
    public bool F16;            // cache element type: fp16 (else fp32)
    public byte* Scratch;       // FlashAttention.ScratchBytes(Heads · Tokens, HeadDim) bytes
    public delegate*<byte*, byte*, int, float> KeyDot;          // the cache type's dot (F16·F16 or F32·F32)
    public delegate*<float*, byte*, int, void> QueryToCache;    // fp32 → cache type
}

public static unsafe partial class FlashAttention
{
    /// <summary>Positions Grouped works on at a time (its scratch holds one chunk's keys, values and exps).</summary>
    internal const int Chunk = 128;

    /// <summary>Scratch for one call of <paramref name="rows"/> query rows (heads × tokens): the rows' queries and
    /// accumulators, a chunk's keys and values (fp32), each row's running maximum and sum, and per row and position
    /// of a chunk the exp's argument, its result and whether the position set a new maximum.</summary>
    public static long ScratchBytes(int rows, int headDim) =>
        4L * (2L * rows * headDim + 2L * Chunk * headDim + 2L * rows + 2L * rows * Chunk) + (long)rows * Chunk;

    /// <summary>Spec, for each head of the group on its own: M = −∞, S = 0, acc = 0; for each position t:
    /// s = dot(k_t, q)·scale; if s &gt; M then (ms = e^(M−s), M = s, acc = acc·ms, vs = 1) else (ms = 1, vs = e^(s−M));
    /// acc = fma(v_t, vs, acc); S = S·ms + vs; output = acc / S. With an fp16 cache every write to acc rounds to fp16
    /// (here acc is kept as fp16 bits).</summary>
    public static void Reference(AttentionArgs* p)
    {
        for (int i = 0; i < p->Tokens; i++)
        {
            for (int g = 0; g < p->Heads; g++)
            {
                long at = i * p->TokenStride + (long)g * p->HeadStride;
                ReferenceHead(p, p->Query + at, p->Output + at, p->Positions + i);
            }
        }
    }

    private static void ReferenceHead(AttentionArgs* p, float* query, float* output, int positions)
    {
        int hd = p->HeadDim;
        byte* q = p->Scratch;
        p->QueryToCache(query, q, hd);
        float m = float.NegativeInfinity, sum = 0;
        float* acc32 = (float*)(q + 4L * hd);
        ushort* acc16 = (ushort*)acc32;
        if (p->F16) new Span<ushort>(acc16, hd).Clear();
        else new Span<float>(acc32, hd).Clear();

        for (int t = 0; t < positions; t++)
        {
            float s = p->KeyDot(p->Keys + t * p->RowBytes, q, hd) * p->Scale;
            float ms = 1f, vs = 1f;
            if (s > m)
            {
                float old = m;
                m = s;
                ms = MathF.Exp(old - m);
                if (p->F16)
                {
                    for (int i = 0; i < hd; i++) acc16[i] = Fp16.FromFloat(Fp16.ToFloat(acc16[i]) * ms);
                }
                else
                {
                    for (int i = 0; i < hd; i++) acc32[i] *= ms;
                }
            }
            else
            {
                vs = MathF.Exp(s - m);
            }

            byte* v = p->Values + t * p->RowBytes;
            if (p->F16)
            {
                var vh = (ushort*)v;
                for (int i = 0; i < hd; i++) acc16[i] = Fp16.FromFloat(MathF.FusedMultiplyAdd(Fp16.ToFloat(vh[i]), vs, Fp16.ToFloat(acc16[i])));
            }
            else
            {
                var vf = (float*)v;
                for (int i = 0; i < hd; i++) acc32[i] = MathF.FusedMultiplyAdd(vf[i], vs, acc32[i]);
            }
            sum = sum * ms + vs;
        }

        float inv = sum == 0f ? 0f : 1f / sum;
        for (int i = 0; i < hd; i++) output[i] = (p->F16 ? Fp16.ToFloat(acc16[i]) : acc32[i]) * inv;
    }

    /// <summary>The spec for a whole group over a run of tokens, a chunk of positions at a time. Per chunk: (1) the
    /// keys and values are widened to fp32 once for every head of every token (an fp16 cache; an fp32 one is read in
    /// place); then for each token that sees any of the chunk, over the positions it sees: (2) every head's scores,
    /// s = dot(k_t, q)·scale with the query rounded to the cache type (a product of two fp16 values is exact in fp32,
    /// so the fp32 dot over widened rows is the cache type's own dot); (3) a scan per head in position order sets the
    /// running maximum exactly as the spec does and records each position's exp argument (M − s on a new maximum,
    /// s − M otherwise) and whether it was a new maximum — the arguments depend only on the scores, so (4) all the
    /// exps run in one vector call per head, bit for bit MathF.Exp's; (5) TLanes.Accumulate replays the spec's
    /// accumulator updates position by position (rescale by ms on a new maximum, then fma with vs, each rounded to
    /// fp16 for an fp16 cache) and the scalar sums follow, S = S·ms + vs. Every value goes through the spec's
    /// operations in the spec's order, so the output is Reference's bit for bit.</summary>
    private static void Grouped<TLanes>(AttentionArgs* p) where TLanes : struct, IAttentionLanes
    {
        int hd = p->HeadDim, heads = p->Heads, tokens = p->Tokens, rows = heads * tokens;
        bool f16 = p->F16;
        float* queries = (float*)p->Scratch;            // row i·heads + g: token i, head g
        float* acc = queries + (long)rows * hd;
        float* keyRows = acc + (long)rows * hd;
        float* valueRows = keyRows + (long)Chunk * hd;
        float* max = valueRows + (long)Chunk * hd;
        float* sum = max + rows;
        float* args = sum + rows;                       // (rows, Chunk)
        float* exps = args + (long)rows * Chunk;        // (rows, Chunk)
        byte* newMax = (byte*)(exps + (long)rows * Chunk);
        for (int r = 0; r < rows; r++)
        {
            float* q = queries + (long)r * hd, query = p->Query + r / heads * p->TokenStride + (long)(r % heads) * p->HeadStride;
            if (f16)
            {
                p->QueryToCache(query, (byte*)valueRows, hd);
                TLanes.Widen((byte*)valueRows, 0, q, 1, hd);
            }
            else
            {
                p->QueryToCache(query, (byte*)q, hd);
            }
            max[r] = float.NegativeInfinity;
            sum[r] = 0;
        }
        new Span<float>(acc, rows * hd).Clear();

        int last = p->Positions + tokens - 1;          // the last token's positions
        long stride = f16 ? hd : p->RowBytes / sizeof(float);   // floats from one position's row to the next
        for (int t0 = 0; t0 < last; t0 += Chunk)
        {
            float* keys = (float*)(p->Keys + t0 * p->RowBytes), values = (float*)(p->Values + t0 * p->RowBytes);
            if (f16)
            {
                int widen = Math.Min(Chunk, last - t0);
                TLanes.Widen(p->Keys + t0 * p->RowBytes, p->RowBytes, keyRows, widen, hd);
                TLanes.Widen(p->Values + t0 * p->RowBytes, p->RowBytes, valueRows, widen, hd);
                keys = keyRows;
                values = valueRows;
            }
            for (int i = 0; i < tokens; i++)
            {
                int count = Math.Min(Chunk, p->Positions + i - t0);
                if (count <= 0) continue;
                int r0 = i * heads;
                int padded = (count + 7) & ~7;   // TLanes.Exp works in eights; the pad lanes' results go unused
                for (int r = r0; r < r0 + heads; r++)
                {
                    float* q = queries + (long)r * hd, a = args + (long)r * Chunk;
                    byte* nm = newMax + (long)r * Chunk;
                    TLanes.Scores(keys, stride, q, hd, count, p->Scale, a);
                    max[r] = TLanes.Scan(a, nm, count, max[r]);
                    for (int t = count; t < padded; t++) a[t] = 0;
                    TLanes.Exp(a, exps + (long)r * Chunk, padded);
                }
                TLanes.Accumulate(acc + (long)r0 * hd, hd, values, stride, count, exps + (long)r0 * Chunk, newMax + (long)r0 * Chunk, f16, heads);
                Sums(sum + r0, exps + (long)r0 * Chunk, newMax + (long)r0 * Chunk, count, heads);
            }
        }

        for (int r = 0; r < rows; r++)
        {
            float inv = sum[r] == 0f ? 0f : 1f / sum[r];
            TLanes.Scale(acc + (long)r * hd, hd, inv, false);
            float* output = p->Output + r / heads * p->TokenStride + (long)(r % heads) * p->HeadStride;
            Buffer.MemoryCopy(acc + (long)r * hd, output, 4L * hd, 4L * hd);
        }
    }

    /// <summary>The spec's running sums of <paramref name="heads"/> rows (exps and flags Chunk apart) over positions
    /// t &lt; count: S = S·ms + vs, i.e. S·e + 1 on a new maximum and S·1 + e otherwise. Four rows' chains run side by
    /// side in registers.</summary>
    private static void Sums(float* sum, float* e, byte* newMax, int count, int heads)
    {
        int r = 0;
        for (; r + 4 <= heads; r += 4, e += 4 * Chunk, newMax += 4 * Chunk)
        {
            float s0 = sum[r], s1 = sum[r + 1], s2 = sum[r + 2], s3 = sum[r + 3];
            for (int t = 0; t < count; t++)
            {
                s0 = Step(s0, e[t], newMax[t]);
                s1 = Step(s1, e[Chunk + t], newMax[Chunk + t]);
                s2 = Step(s2, e[2 * Chunk + t], newMax[2 * Chunk + t]);
                s3 = Step(s3, e[3 * Chunk + t], newMax[3 * Chunk + t]);
            }
            sum[r] = s0;
            sum[r + 1] = s1;
            sum[r + 2] = s2;
            sum[r + 3] = s3;
        }
        for (; r < heads; r++, e += Chunk, newMax += Chunk)
        {
            float s0 = sum[r];
            for (int t = 0; t < count; t++) s0 = Step(s0, e[t], newMax[t]);
            sum[r] = s0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static float Step(float s, float e, byte newMax) => newMax != 0 ? s * e + 1f : s * 1f + e;
    }

    /// <summary>TLanes.Scan one position at a time, as the spec runs it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScanRows(float* a, byte* newMax, int count, float m)
    {
        for (int t = 0; t < count; t++)
        {
            float s = a[t];
            if (s > m)
            {
                a[t] = m - s;
                newMax[t] = 1;
                m = s;
            }
            else
            {
                a[t] = s - m;
                newMax[t] = 0;
            }
        }
        return m;
    }

    /// <summary>TLanes.Scores one position at a time with TLanes.Dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScoreRows<TLanes>(float* keys, long stride, float* q, int hd, int count, float scale, float* s)
        where TLanes : struct, IAttentionLanes
    {
        for (int t = 0; t < count; t++) s[t] = TLanes.Dot(keys + t * stride, q, hd) * scale;
    }

    /// <summary>TLanes.Accumulate by whole rows in memory, for the lanes without a register-blocked form (and the
    /// lanes a register-blocked form leaves over): for each of the heads (accumulator headStride floats apart, exps and
    /// flags Chunk apart) and each position, a rescale of the accumulator's n lanes on a new maximum, then its fma with
    /// the value row.</summary>
    private static void AccumulateRows<TLanes>(float* acc, int n, int headStride, float* values, long stride, int count, float* e,
        byte* newMax, bool f16, int heads) where TLanes : struct, IAttentionLanes
    {
        for (int g = 0; g < heads; g++, acc += headStride, e += Chunk, newMax += Chunk)
        {
            for (int t = 0; t < count; t++)
            {
                float vs = e[t];
                if (newMax[t] != 0)
                {
                    TLanes.Scale(acc, n, e[t], f16);
                    vs = 1f;
                }
                TLanes.Mad(acc, values + t * stride, n, vs, f16);
            }
        }
    }
}

/// <summary>The vector loops of FlashAttention.Grouped for one ISA; each handles any n (scalar leftovers).</summary>
internal unsafe interface IAttentionLanes
{
    /// <summary>The fp32 dot in the float dots' order (DotF32F32 of this ISA).</summary>
    static abstract float Dot(float* x, float* y, int n);

    /// <summary>s[t] = Dot(keys + t·stride, q, hd)·scale for t &lt; count, bit for bit.</summary>
    static abstract void Scores(float* keys, long stride, float* q, int hd, int count, float scale, float* s);

    /// <summary>The spec's running maximum over scores a[t], t &lt; count, from <paramref name="m"/>: a score above
    /// the maximum so far is a new maximum (newMax[t] = 1, a[t] = M − s, then M = s); otherwise newMax[t] = 0 and
    /// a[t] = s − M. Returns the final maximum.</summary>
    static abstract float Scan(float* a, byte* newMax, int count, float m);

    /// <summary>y[i] = MathF.Exp(x[i]) bit for bit, for i &lt; n; both buffers padded to a multiple of 8.</summary>
    static abstract void Exp(float* x, float* y, int n);

    /// <summary>Rows r &lt; count of n fp16 values (row r at rows + r·rowBytes) widened to f + r·n.</summary>
    static abstract void Widen(byte* rows, long rowBytes, float* f, int count, int n);

    /// <summary>acc[i] = acc[i]·ms, rounded to fp16 when <paramref name="f16"/>.</summary>
    static abstract void Scale(float* acc, int n, float ms, bool f16);

    /// <summary>acc[i] = fma(v[i], vs, acc[i]), rounded to fp16 when <paramref name="f16"/>.</summary>
    static abstract void Mad(float* acc, float* v, int n, float vs, bool f16);

    /// <summary>The spec's accumulator updates for positions t &lt; count of each of the group's heads (value row t
    /// at values + t·stride; head g's accumulator at acc + g·n, its exps and flags at e + g·Chunk and newMax +
    /// g·Chunk): on newMax[t], acc = acc·e[t] then acc = fma(v_t, 1, acc); otherwise acc = fma(v_t, e[t], acc); each
    /// rounded to fp16 when <paramref name="f16"/>.</summary>
    static abstract void Accumulate(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16, int heads);
}
