// Attention of one query head over a run of cached positions, in one pass with an online softmax (flash attention),
// as llama.cpp's CPU backend computes it (ggml_compute_forward_flash_attn_ext_f16): the query is rounded to the
// cache's element type, scores are that type's dot times the scale, and the running value sum is kept in the cache's
// element type — for an fp16 cache that accumulator is fp16 and is rounded after every update.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

/// <summary>Everything one attention call needs: the query heads that share one kv head (grouped-query attention),
/// for one token. The caller owns the scratch buffer.</summary>
public unsafe struct AttentionArgs
{
    public float* Query;        // first query head (head_dim); the group's heads are HeadStride floats apart
    public float* Output;       // first output head (head_dim), same stride
    public int Heads;           // query heads sharing this kv head (≥ 1)
    public int HeadStride;
    public byte* Keys;          // first key of this kv head; positions RowBytes apart
    public byte* Values;        // first value of this kv head; positions RowBytes apart
    public long RowBytes;
    public int Positions;       // attend to positions 0..Positions-1
    public int HeadDim;
    public float Scale;         // 1/sqrt(head_dim)
    public bool F16;            // cache element type: fp16 (else fp32)
    public byte* Scratch;       // FlashAttention.ScratchBytes(Heads, HeadDim) bytes
    public delegate*<byte*, byte*, int, float> KeyDot;          // the cache type's dot (F16·F16 or F32·F32)
    public delegate*<float*, byte*, int, void> QueryToCache;    // fp32 → cache type
}

public static unsafe partial class FlashAttention
{
    /// <summary>Scratch for one call: the group's queries and accumulators, one key and one value row (all fp32), and
    /// each head's running maximum, sum and score, and the exps' arguments and results (padded to a multiple of 8).</summary>
    public static long ScratchBytes(int heads, int headDim) => 4L * (2L * heads * headDim + 2L * headDim + 3L * heads + 2L * ((heads + 7) & ~7));

    /// <summary>Spec, for each head of the group on its own: M = −∞, S = 0, acc = 0; for each position t:
    /// s = dot(k_t, q)·scale; if s &gt; M then (ms = e^(M−s), M = s, acc = acc·ms, vs = 1) else (ms = 1, vs = e^(s−M));
    /// acc = fma(v_t, vs, acc); S = S·ms + vs; output = acc / S. With an fp16 cache every write to acc rounds to fp16
    /// (here acc is kept as fp16 bits).</summary>
    public static void Reference(AttentionArgs* p)
    {
        for (int g = 0; g < p->Heads; g++) ReferenceHead(p, p->Query + (long)g * p->HeadStride, p->Output + (long)g * p->HeadStride);
    }

    private static void ReferenceHead(AttentionArgs* p, float* query, float* output)
    {
        int hd = p->HeadDim;
        byte* q = p->Scratch;
        p->QueryToCache(query, q, hd);
        float m = float.NegativeInfinity, sum = 0;
        float* acc32 = (float*)(q + 4L * hd);
        ushort* acc16 = (ushort*)acc32;
        if (p->F16) new Span<ushort>(acc16, hd).Clear();
        else new Span<float>(acc32, hd).Clear();

        for (int t = 0; t < p->Positions; t++)
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

    /// <summary>The spec for a whole group in one pass over the cache. Each position's key and value rows are read,
    /// and for an fp16 cache widened to fp32, once for all heads; the queries are rounded to the cache type and
    /// widened once. A product of two fp16 values is exact in fp32, so the fp32 dot over the widened rows (same
    /// order, same fmas) is the cache type's own dot. An fp16 accumulator is held in fp32 already rounded to fp16
    /// (Fp16Vector.RoundToHalf), the value the spec's fp16 bits hold. The exps are the spec's own calls, so the output
    /// is the spec's bit for bit (TLanes.Exp is MathF.Exp's bits). TLanes supplies the per-ISA loops.</summary>
    private static void Grouped<TLanes>(AttentionArgs* p) where TLanes : struct, IAttentionLanes
    {
        int hd = p->HeadDim, heads = p->Heads;
        bool f16 = p->F16;
        float* queries = (float*)p->Scratch;
        float* acc = queries + (long)heads * hd;
        float* keyRow = acc + (long)heads * hd;
        float* valueRow = keyRow + hd;
        float* max = valueRow + hd;
        float* sum = max + heads;
        float* scores = sum + heads;
        int padded = (heads + 7) & ~7;      // TLanes.Exp works in eights; the arguments' pad lanes stay 0
        float* args = scores + heads;
        float* exps = args + padded;
        new Span<float>(args, padded).Clear();
        for (int g = 0; g < heads; g++)
        {
            float* q = queries + (long)g * hd;
            if (f16)
            {
                p->QueryToCache(p->Query + (long)g * p->HeadStride, (byte*)valueRow, hd);
                TLanes.Widen((ushort*)valueRow, q, hd);
            }
            else
            {
                p->QueryToCache(p->Query + (long)g * p->HeadStride, (byte*)q, hd);
            }
            max[g] = float.NegativeInfinity;
            sum[g] = 0;
        }
        new Span<float>(acc, heads * hd).Clear();

        for (int t = 0; t < p->Positions; t++)
        {
            float* k = (float*)(p->Keys + t * p->RowBytes);
            float* v = (float*)(p->Values + t * p->RowBytes);
            if (f16)
            {
                TLanes.Widen((ushort*)k, keyRow, hd);
                TLanes.Widen((ushort*)v, valueRow, hd);
                k = keyRow;
                v = valueRow;
            }
            // Every head's score first, then all their exps in one call (ms on a new maximum, vs otherwise).
            for (int g = 0; g < heads; g++)
            {
                float s = TLanes.Dot(k, queries + (long)g * hd, hd) * p->Scale;
                scores[g] = s;
                args[g] = s > max[g] ? max[g] - s : s - max[g];
            }
            TLanes.Exp(args, exps, heads);
            for (int g = 0; g < heads; g++)
            {
                float* a = acc + (long)g * hd;
                float ms = 1f, vs = 1f;
                if (scores[g] > max[g])
                {
                    ms = exps[g];
                    max[g] = scores[g];
                    TLanes.Scale(a, hd, ms, f16);
                }
                else
                {
                    vs = exps[g];
                }
                TLanes.Mad(a, v, hd, vs, f16);
                sum[g] = sum[g] * ms + vs;
            }
        }

        for (int g = 0; g < heads; g++)
        {
            float inv = sum[g] == 0f ? 0f : 1f / sum[g];
            TLanes.Scale(acc + (long)g * hd, hd, inv, false);
            Buffer.MemoryCopy(acc + (long)g * hd, p->Output + (long)g * p->HeadStride, 4L * hd, 4L * hd);
        }
    }
}

/// <summary>The vector loops of FlashAttention.Grouped for one ISA; each handles any n (scalar leftovers).</summary>
internal unsafe interface IAttentionLanes
{
    /// <summary>The fp32 dot in the float dots' order (DotF32F32 of this ISA).</summary>
    static abstract float Dot(float* x, float* y, int n);

    /// <summary>y[i] = MathF.Exp(x[i]) bit for bit, for i &lt; n; both buffers padded to a multiple of 8.</summary>
    static abstract void Exp(float* x, float* y, int n);

    /// <summary>f[i] = fp16 h[i] widened.</summary>
    static abstract void Widen(ushort* h, float* f, int n);

    /// <summary>acc[i] = acc[i]·ms, rounded to fp16 when <paramref name="f16"/>.</summary>
    static abstract void Scale(float* acc, int n, float ms, bool f16);

    /// <summary>acc[i] = fma(v[i], vs, acc[i]), rounded to fp16 when <paramref name="f16"/>.</summary>
    static abstract void Mad(float* acc, float* v, int n, float vs, bool f16);
}
