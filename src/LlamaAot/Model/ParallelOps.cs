// The forward pass's parallel regions as plain structs plus static work functions, so WorkerPool.Run can take
// them without allocating. Every output element is computed whole by exactly one thread, in the same order
// whatever the thread count, so results are identical for any -t.
using LlamaAot.Kernels.MatMul;
using LlamaAot.Scheduler;

namespace LlamaAot.Model;

/// <summary>Up to three independent products of one layer (q/k/v or gate/up) in a single region; each thread takes
/// its share of every product's rows.</summary>
internal unsafe struct MatMulJob
{
    public int Count;
    public MatMulArgs A, B, C;
    public delegate*<MatMulArgs*, int, int, void> GemmA, GemmB, GemmC;

    public static void Work(void* ctx, int ith, int nth)
    {
        var job = (MatMulJob*)ctx;
        Run(&job->A, job->GemmA, ith, nth);
        if (job->Count > 1) Run(&job->B, job->GemmB, ith, nth);
        if (job->Count > 2) Run(&job->C, job->GemmC, ith, nth);
    }

    private static void Run(MatMulArgs* m, delegate*<MatMulArgs*, int, int, void> gemm, int ith, int nth)
    {
        var (start, end) = MatMul.Share(m->Rows, ith, nth);
        if (start < end) gemm(m, start, end);
    }
}

/// <summary>Converts batch rows of fp32 to an activation format, rows split across threads.</summary>
internal unsafe struct ConvertJob
{
    public float* Src;
    public byte* Dst;
    public int Cols;
    public long DstRowBytes;
    public int Batch;
    public delegate*<float*, byte*, int, void> FromFloat;

    public static void Work(void* ctx, int ith, int nth)
    {
        var job = (ConvertJob*)ctx;
        var (start, end) = WorkerPool.Split(job->Batch, ith, nth);
        for (int b = start; b < end; b++) job->FromFloat(job->Src + (long)b * job->Cols, job->Dst + b * job->DstRowBytes, job->Cols);
    }
}

/// <summary>Causal attention of a batch: each (token, query head) pair is one unit of work.</summary>
internal unsafe struct AttentionJob
{
    public float* Q;            // (tokens, q_dim)
    public float* Out;          // (tokens, q_dim)
    public int Tokens, Pos, Heads, Group, HeadDim, QDim, KvDim, ElementSize;
    public float Scale;
    public byte* Keys;          // cache of this layer: (ctx, kv_dim)
    public byte* Values;
    public byte* Scratch;       // (threads, ScratchStride)
    public long ScratchStride;  // FlashAttention.ScratchBytes(Group · MaxUnitTokens, HeadDim), rounded up to 64
    public delegate*<byte*, byte*, int, float> KeyDot;
    public delegate*<float*, byte*, int, void> QToCache;
    public delegate*<Kernels.Ops.AttentionArgs*, void> Attend;

    /// <summary>Most tokens one unit attends for: their heads share each chunk of widened keys and values.</summary>
    public const int MaxUnitTokens = 8;

    /// <summary>One unit is a run of up to MaxUnitTokens consecutive tokens and one kv head: the kv head's group of
    /// query heads for those tokens, attended in one pass over the cache. Units are dealt out round robin, so the long
    /// causal rows of late tokens spread over every thread; runs shrink until every thread has several units. When
    /// there are fewer units than threads (decode with few kv heads), each group is split into equal parts.</summary>
    public static void Work(void* ctx, int ith, int nth)
    {
        var j = (AttentionJob*)ctx;
        int hd = j->HeadDim, es = j->ElementSize, kvHeads = j->Heads / j->Group;
        int run = MaxUnitTokens;
        while (run > 1 && (j->Tokens + run - 1) / run * kvHeads < 4 * nth) run /= 2;
        int runs = (j->Tokens + run - 1) / run;
        int parts = 1;
        while (runs * kvHeads * parts < nth && j->Group % (2 * parts) == 0) parts *= 2;
        int heads = j->Group / parts;
        Kernels.Ops.AttentionArgs a;
        a.Heads = heads;
        a.HeadStride = hd;
        a.TokenStride = j->QDim;
        a.RowBytes = (long)j->KvDim * es;
        a.HeadDim = hd;
        a.Scale = j->Scale;
        a.F16 = es == 2;
        a.Scratch = j->Scratch + ith * j->ScratchStride;
        a.KeyDot = j->KeyDot;
        a.QueryToCache = j->QToCache;
        for (int unit = ith; unit < runs * kvHeads * parts; unit += nth)
        {
            int b = unit / (kvHeads * parts) * run, kvh = unit / parts % kvHeads, first = kvh * j->Group + unit % parts * heads;
            long kvOff = (long)kvh * hd * es;
            a.Query = j->Q + (long)b * j->QDim + first * hd;
            a.Output = j->Out + (long)b * j->QDim + first * hd;
            a.Tokens = Math.Min(run, j->Tokens - b);
            a.Keys = j->Keys + kvOff;
            a.Values = j->Values + kvOff;
            a.Positions = j->Pos + b + 1;   // causal: token b sees positions 0..pos+b, the run's later tokens one more each
            j->Attend(&a);
        }
    }
}
