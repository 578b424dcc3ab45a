// Attention of one query head over a run of cached positions, in one pass with an online softmax (flash attention),
// as llama.cpp's CPU backend computes it (ggml_compute_forward_flash_attn_ext_f16): the query is rounded to the
// cache's element type, scores are that type's dot times the scale, and the running value sum is kept in the cache's
// element type — for an fp16 cache that accumulator is fp16 and is rounded after every update.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

/// <summary>Everything one attention call needs; the caller owns the scratch buffers.</summary>
public unsafe struct AttentionArgs
{
    public float* Query;        // (head_dim)
    public byte* Keys;          // first key of this kv head; positions RowBytes apart
    public byte* Values;        // first value of this kv head; positions RowBytes apart
    public long RowBytes;
    public int Positions;       // attend to positions 0..Positions-1
    public int HeadDim;
    public float Scale;         // 1/sqrt(head_dim)
    public bool F16;            // cache element type: fp16 (else fp32)
    public byte* QueryScratch;  // (head_dim × 4 bytes)
    public float* AccScratch;   // (head_dim) fp32 accumulator (fp16 caches keep fp16 bits in its first half)
    public float* Output;       // (head_dim)
    public delegate*<byte*, byte*, int, float> KeyDot;          // the cache type's dot (F16·F16 or F32·F32)
    public delegate*<float*, byte*, int, void> QueryToCache;    // fp32 → cache type
}

public static unsafe partial class FlashAttention
{
    /// <summary>Spec: M = −∞, S = 0, acc = 0; for each position t: s = dot(k_t, q)·scale; if s &gt; M then
    /// (ms = e^(M−s), M = s, acc = acc·ms, vs = 1) else (ms = 1, vs = e^(s−M)); acc = fma(v_t, vs, acc); S = S·ms + vs;
    /// output = acc / S. With an fp16 cache every write to acc rounds to fp16.</summary>
    public static void Reference(AttentionArgs* p)
    {
        int hd = p->HeadDim;
        p->QueryToCache(p->Query, p->QueryScratch, hd);
        float m = float.NegativeInfinity, sum = 0;
        ushort* acc16 = (ushort*)p->AccScratch;
        float* acc32 = p->AccScratch;
        if (p->F16) new Span<ushort>(acc16, hd).Clear();
        else new Span<float>(acc32, hd).Clear();

        for (int t = 0; t < p->Positions; t++)
        {
            float s = p->KeyDot(p->Keys + t * p->RowBytes, p->QueryScratch, hd) * p->Scale;
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
        for (int i = 0; i < hd; i++) p->Output[i] = (p->F16 ? Fp16.ToFloat(acc16[i]) : acc32[i]) * inv;
    }
}
