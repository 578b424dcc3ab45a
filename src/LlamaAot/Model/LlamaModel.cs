// The Llama forward pass over a batch of tokens, narrated step by step. Weights are used in place from the mapped
// GGUF; run state and the KV cache are allocated once here, so nothing is allocated per token.
using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Ops;
using LlamaAot.Kernels.Quants;
using LlamaAot.Scheduler;

namespace LlamaAot.Model;

public sealed record ModelOptions
{
    public int ContextSize { get; init; }                 // 0: the model's, at most 4096
    public int BatchSize { get; init; } = 512;
    public KvCacheType CacheType { get; init; } = KvCacheType.F16;
    public bool AllLogits { get; init; }                  // keep logits of every batch row (perplexity)
    public KernelIsa? Isa { get; init; }                  // null: LLAMA_AOT_ISA or the best path
    public int Threads { get; init; }                     // 0: physical cores
    public bool Affinity { get; init; }                   // pin thread i to the i-th physical core (Linux)
}

public sealed unsafe class LlamaModel : IDisposable
{
    public const int DefaultMaxContext = 4096;

    private readonly GgufFile _file;
    private readonly KernelTable _k;
    private readonly RopeTable _rope;
    private readonly List<nint> _allocations = [];

    // Run state, one row per batch position.
    private readonly float* _x;       // (batch, dim) residual stream
    private readonly float* _xb;      // (batch, dim) normed input of the current sub-layer
    private readonly float* _q;       // (batch, n_head·head_dim)
    private readonly float* _kNew;    // (batch, kv_dim)
    private readonly float* _vNew;    // (batch, kv_dim)
    private readonly float* _attn;    // (batch, n_head·head_dim) attention output
    private readonly float* _hb;      // (batch, n_ff) gate, then silu(gate)·up
    private readonly float* _hb2;     // (batch, n_ff) up
    private readonly float* _proj;    // (batch, dim) sub-layer output before the residual add
    private readonly byte* _attnScratch; // (threads, _attnScratchStride): FlashAttention's scratch, per thread
    private readonly long _attnScratchStride;
    private readonly WorkerPool _pool;
    private readonly MatMulJob* _mm;  // parallel-region parameters, reused by every call
    private readonly ConvertJob* _cv;
    private readonly AttentionJob* _aj;
    private readonly byte* _act;      // (batch, max row) activations in a weight's vec_dot format
    private readonly float* _logits;  // (batch or 1, vocab)
    private readonly long _actSlotBytes;
    private GgmlType _actType;        // what _actBuffer holds, so q/k/v (gate/up) convert x once
    private float* _actSource;
    private byte* _actBuffer;

    public LlamaModel(GgufFile file, ModelOptions options)
    {
        _file = file;
        Config = LlamaConfig.FromGguf(file);
        _k = SelectKernels(options.Isa);
        Weights = LlamaWeights.Load(file, Config, _k);
        var c = Config;

        int ctx = options.ContextSize > 0 ? options.ContextSize : Math.Min(c.ContextLength, DefaultMaxContext);
        ContextSize = ctx;
        BatchSize = Math.Clamp(options.BatchSize, 1, ctx);
        AllLogits = options.AllLogits;
        Cache = new KvCache(c.BlockCount, ctx, c.KvDim, options.CacheType);
        _rope = new RopeTable(ctx, c.RopeDims, c.RopeFreqBase, c.RopeFreqScale);

        int b = BatchSize;
        _x = Alloc<float>((long)b * c.EmbeddingLength);
        _xb = Alloc<float>((long)b * c.EmbeddingLength);
        _q = Alloc<float>((long)b * c.QDim);
        _kNew = Alloc<float>((long)b * c.KvDim);
        _vNew = Alloc<float>((long)b * c.KvDim);
        _attn = Alloc<float>((long)b * c.QDim);
        _hb = Alloc<float>((long)b * c.FeedForwardLength);
        _hb2 = Alloc<float>((long)b * c.FeedForwardLength);
        _proj = Alloc<float>((long)b * c.EmbeddingLength);
        _pool = new WorkerPool(options.Threads > 0 ? options.Threads : WorkerPool.DefaultThreadCount(), options.Affinity);
        _attnScratchStride = (FlashAttention.ScratchBytes(c.HeadCount / c.HeadCountKv * AttentionJob.MaxUnitTokens, c.HeadDim) + 63) & ~63L;
        _attnScratch = Alloc<byte>(_attnScratchStride * _pool.ThreadCount);
        _mm = Alloc<MatMulJob>(1);
        _cv = Alloc<ConvertJob>(1);
        _aj = Alloc<AttentionJob>(1);
        int widest = Math.Max(Math.Max(c.EmbeddingLength, c.FeedForwardLength), c.QDim);
        _actSlotBytes = (long)b * widest * sizeof(float);   // fp32 is the widest activation format
        _act = (byte*)Alloc<byte>(3 * _actSlotBytes);       // one slot per product of a region
        _logits = Alloc<float>((AllLogits ? (long)b : 1) * c.VocabSize);
    }

    /// <summary>The kernel table for a requested path, LLAMA_AOT_ISA, or the best one; a bad choice is a user error.</summary>
    public static KernelTable SelectKernels(KernelIsa? isa)
    {
        try
        {
            return KernelTable.For(isa ?? KernelTable.FromEnvironment());
        }
        catch (ArgumentException e)
        {
            throw new LlamaAotException(e.Message, e);
        }
    }

    public LlamaConfig Config { get; }
    public LlamaWeights Weights { get; }
    public KvCache Cache { get; }
    public int ContextSize { get; }
    public int BatchSize { get; }
    public bool AllLogits { get; }
    public KernelIsa Isa => _k.Isa;
    public int Threads => _pool.ThreadCount;
    public GgufFile File => _file;

    /// <summary>Logits of row <paramref name="row"/> of the last batch (row 0 unless AllLogits).</summary>
    public ReadOnlySpan<float> Logits(int row = 0) => new(_logits + (long)row * Config.VocabSize, Config.VocabSize);

    /// <summary>Runs tokens through the model at positions pos, pos+1, …, in batches of BatchSize. Afterwards
    /// Logits() holds the last token's logits (every token's of the final batch when AllLogits).</summary>
    public void Evaluate(ReadOnlySpan<int> tokens, int pos)
    {
        if (tokens.Length == 0) throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        if (pos < 0 || pos + tokens.Length > ContextSize)
        {
            throw new LlamaAotException($"{pos + tokens.Length} tokens do not fit the context of {ContextSize}");
        }
        for (int start = 0; start < tokens.Length; start += BatchSize)
        {
            var batch = tokens.Slice(start, Math.Min(BatchSize, tokens.Length - start));
            ForwardBatch(batch, pos + start);
        }
    }

    private void ForwardBatch(ReadOnlySpan<int> tokens, int pos)
    {
        var c = Config;
        int n = tokens.Length, dim = c.EmbeddingLength;

        // Embedding: one row of token_embd per token, dequantized to fp32.
        var embed = Weights.TokenEmbedding;
        for (int b = 0; b < n; b++)
        {
            int t = tokens[b];
            if ((uint)t >= (uint)c.VocabSize) throw new LlamaAotException($"token id {t} is outside the vocabulary of {c.VocabSize}");
            _k[embed.Type].ToFloat(embed.Row(t), _x + (long)b * dim, dim);
        }

        for (int l = 0; l < c.BlockCount; l++)
        {
            var w = Weights.Layers[l];

            // Attention sub-layer: xb = rmsnorm(x)·attn_norm; q, k, v projections.
            Norm(_x, w.AttnNorm, _xb, n);
            MatMul(n, _xb, w.Wq, _q, w.Wk, _kNew, w.Wv, _vNew);

            // Rotate q and k by their positions, then append k and v to the cache.
            for (int b = 0; b < n; b++)
            {
                int p = pos + b;
                float* cos = _rope.Cos + (long)p * _rope.Pairs, sin = _rope.Sin + (long)p * _rope.Pairs;
                _k.RopeAdjacent(_q + (long)b * c.QDim, c.HeadCount, c.HeadDim, cos, sin, _rope.Pairs);
                _k.RopeAdjacent(_kNew + (long)b * c.KvDim, c.HeadCountKv, c.HeadDim, cos, sin, _rope.Pairs);
                StoreCache(Cache.Key(l, p), _kNew + (long)b * c.KvDim);
                StoreCache(Cache.Value(l, p), _vNew + (long)b * c.KvDim);
            }

            // Causal attention: token b sees cache positions 0..pos+b.
            Attention(l, pos, n);
            _actSource = null;

            // Output projection and residual connection back into x.
            MatMul(n, _attn, w.Wo, _proj);
            _k.Add(_x, _proj, n * dim);

            // Feed-forward sub-layer: x += down(silu(gate(xb)) · up(xb)).
            Norm(_x, w.FfnNorm, _xb, n);
            MatMul(n, _xb, w.WGate, _hb, w.WUp, _hb2);
            _k.SiluMul(_hb, _hb2, n * c.FeedForwardLength);
            _actSource = null;
            MatMul(n, _hb, w.WDown, _proj);
            _k.Add(_x, _proj, n * dim);
        }

        // Final norm and the vocabulary projection: for every row, or only the last token's.
        int first = AllLogits ? 0 : n - 1;
        Norm(_x + (long)first * dim, Weights.OutputNorm, _xb, n - first);
        MatMul(n - first, _xb, Weights.Output, _logits);
    }

    /// <summary>y = rmsnorm(x)·weight for each of n rows.</summary>
    private void Norm(float* x, float[] weight, float* y, int n)
    {
        int dim = Config.EmbeddingLength;
        _actSource = null;   // y is rewritten: activations converted from it are stale
        fixed (float* pw = weight)
        {
            for (int b = 0; b < n; b++) _k.RmsNorm(x + (long)b * dim, pw, y + (long)b * dim, dim, Config.RmsEps);
        }
    }

    /// <summary>y[b, r] = W[r] · x[b] for n rows of x, for up to three weights reading the same x in one parallel
    /// region. x is converted to each weight's activation format once (shared when the formats agree).</summary>
    private void MatMul(int n, float* x, in WeightMatrix w1, float* y1)
    {
        _mm->Count = 1;
        _mm->A = Item(n, x, w1, y1, 0, out _mm->GemmA);
        _pool.Run(&MatMulJob.Work, _mm);
    }

    private void MatMul(int n, float* x, in WeightMatrix w1, float* y1, in WeightMatrix w2, float* y2)
    {
        _mm->Count = 2;
        _mm->A = Item(n, x, w1, y1, 0, out _mm->GemmA);
        _mm->B = Item(n, x, w2, y2, 1, out _mm->GemmB);
        _pool.Run(&MatMulJob.Work, _mm);
    }

    private void MatMul(int n, float* x, in WeightMatrix w1, float* y1, in WeightMatrix w2, float* y2, in WeightMatrix w3, float* y3)
    {
        _mm->Count = 3;
        _mm->A = Item(n, x, w1, y1, 0, out _mm->GemmA);
        _mm->B = Item(n, x, w2, y2, 1, out _mm->GemmB);
        _mm->C = Item(n, x, w3, y3, 2, out _mm->GemmC);
        _pool.Run(&MatMulJob.Work, _mm);
    }

    /// <summary>Parameters of one product; converts x into activation slot <paramref name="slot"/> unless an earlier
    /// slot of this region already holds x in the same format.</summary>
    private MatMulArgs Item(int n, float* x, in WeightMatrix w, float* y, int slot, out delegate*<MatMulArgs*, int, int, void> gemm)
    {
        ref readonly var tk = ref _k[w.Type];
        var vdt = tk.VecDotType;
        long actRowBytes = GgmlTypes.RowBytes(vdt, w.Cols);
        byte* act;
        if (_actSource == x && _actType == vdt)
        {
            act = _actBuffer;
        }
        else
        {
            act = _act + slot * _actSlotBytes;
            _cv->Src = x;
            _cv->Dst = act;
            _cv->Cols = w.Cols;
            _cv->DstRowBytes = actRowBytes;
            _cv->Batch = n;
            _cv->FromFloat = _k[vdt].FromFloat;
            _pool.Run(&ConvertJob.Work, _cv);
            _actSource = x;
            _actType = vdt;
            _actBuffer = act;
        }
        gemm = tk.GemmFor(w.Rows);
        return new MatMulArgs
        {
            W = w.Data, RowBytes = w.RowBytes, Rows = w.Rows, Cols = w.Cols, Act = act, ActRowBytes = actRowBytes,
            Batch = n, Y = y, YStride = w.Rows, Dot = tk.DotFor(w.Rows),
        };
    }

    private void StoreCache(byte* dst, float* src)
    {
        int n = Config.KvDim;
        if (Cache.Type == KvCacheType.F16) _k[GgmlType.F16].FromFloat(src, dst, n);
        else Buffer.MemoryCopy(src, dst, n * 4L, n * 4L);
    }

    /// <summary>Causal grouped-query attention for tokens pos..pos+n-1, (token, head) pairs split across threads.</summary>
    private void Attention(int layer, int pos, int n)
    {
        var c = Config;
        var cacheType = Cache.Type == KvCacheType.F16 ? GgmlType.F16 : GgmlType.F32;
        *_aj = new AttentionJob
        {
            Q = _q, Out = _attn, Tokens = n, Pos = pos, Heads = c.HeadCount, Group = c.HeadCount / c.HeadCountKv,
            HeadDim = c.HeadDim, QDim = c.QDim, KvDim = c.KvDim, Scale = 1f / MathF.Sqrt(c.HeadDim),
            Keys = Cache.Key(layer, 0), Values = Cache.Value(layer, 0), ElementSize = Cache.ElementSize,
            Scratch = _attnScratch, ScratchStride = _attnScratchStride, KeyDot = _k[cacheType].VecDot, QToCache = _k[cacheType].FromFloat, Attend = _k.Attention,
        };
        _pool.Run(&AttentionJob.Work, _aj);
    }

    private T* Alloc<T>(long count) where T : unmanaged
    {
        nuint bytes = (nuint)Math.Max(64, count * sizeof(T));
        void* p = NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        _allocations.Add((nint)p);
        return (T*)p;
    }

    public void Dispose()
    {
        _pool.Dispose();
        foreach (nint p in _allocations) NativeMemory.AlignedFree((void*)p);
        _allocations.Clear();
        _rope.Dispose();
        Cache.Dispose();
    }
}
