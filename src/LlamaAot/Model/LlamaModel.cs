// The Llama forward pass over a batch of tokens, narrated step by step. Weights are used in place from the mapped
// GGUF; run state and the KV cache are allocated once here, so nothing is allocated per token.
using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.Ops;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Model;

public sealed record ModelOptions
{
    public int ContextSize { get; init; }                 // 0: the model's, at most 4096
    public int BatchSize { get; init; } = 512;
    public KvCacheType CacheType { get; init; } = KvCacheType.F16;
    public bool AllLogits { get; init; }                  // keep logits of every batch row (perplexity)
    public KernelIsa? Isa { get; init; }                  // null: LLAMA_AOT_ISA or the best path
    public int Threads { get; init; }                     // 0: physical cores
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
    private readonly float* _scores;  // (n_ctx) attention scores of one head
    private readonly byte* _qHead;    // (head_dim) one query head in the cache's element type
    private readonly byte* _act;      // (batch, max row) activations in a weight's vec_dot format
    private readonly float* _logits;  // (batch or 1, vocab)
    private GgmlType _actType;        // what _act currently holds, so Q/K/V (gate/up) quantize once
    private float* _actSource;

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
        _scores = Alloc<float>(ctx);
        _qHead = (byte*)Alloc<float>(c.HeadDim);
        int widest = Math.Max(Math.Max(c.EmbeddingLength, c.FeedForwardLength), c.QDim);
        _act = (byte*)Alloc<float>((long)b * widest);   // fp32 is the widest activation format
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
            MatMul(w.Wq, _xb, _q, n);
            MatMul(w.Wk, _xb, _kNew, n);
            MatMul(w.Wv, _xb, _vNew, n);

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
            for (int b = 0; b < n; b++) Attend(l, pos + b, _q + (long)b * c.QDim, _attn + (long)b * c.QDim);
            _actSource = null;

            // Output projection and residual connection back into x.
            MatMul(w.Wo, _attn, _proj, n);
            _k.Add(_x, _proj, n * dim);

            // Feed-forward sub-layer: x += down(silu(gate(xb)) · up(xb)).
            Norm(_x, w.FfnNorm, _xb, n);
            MatMul(w.WGate, _xb, _hb, n);
            MatMul(w.WUp, _xb, _hb2, n);
            _k.SiluMul(_hb, _hb2, n * c.FeedForwardLength);
            MatMul(w.WDown, _hb, _proj, n);
            _k.Add(_x, _proj, n * dim);
        }

        // Final norm and the vocabulary projection: for every row, or only the last token's.
        int first = AllLogits ? 0 : n - 1;
        Norm(_x + (long)first * dim, Weights.OutputNorm, _xb, n - first);
        MatMul(Weights.Output, _xb, _logits, n - first);
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

    /// <summary>y[b, r] = W[r] · x[b] for n rows of x: x is first converted to W's activation format (once per
    /// source buffer and format, so the q/k/v and gate/up projections share it).</summary>
    private void MatMul(in WeightMatrix w, float* x, float* y, int n)
    {
        ref readonly var tk = ref _k[w.Type];
        var vdt = tk.VecDotType;
        long actRowBytes = GgmlTypes.RowBytes(vdt, w.Cols);
        if (_actSource != x || _actType != vdt)
        {
            var fromFloat = _k[vdt].FromFloat;
            for (int b = 0; b < n; b++) fromFloat(x + (long)b * w.Cols, _act + b * actRowBytes, w.Cols);
            _actSource = x;
            _actType = vdt;
        }
        var dot = tk.VecDot;
        for (int r = 0; r < w.Rows; r++)
        {
            byte* row = w.Row(r);
            for (int b = 0; b < n; b++) y[(long)b * w.Rows + r] = dot(row, _act + b * actRowBytes, w.Cols);
        }
        // The next projection reads a different buffer; forget the cached activations if y overwrote the source.
        if (y == _actSource) _actSource = null;
    }

    private void StoreCache(byte* dst, float* src)
    {
        int n = Config.KvDim;
        if (Cache.Type == KvCacheType.F16) _k[GgmlType.F16].FromFloat(src, dst, n);
        else Buffer.MemoryCopy(src, dst, n * 4L, n * 4L);
    }

    /// <summary>Grouped-query attention of one token at position p: each query head h reads kv head h / (n_head / n_kv).</summary>
    private void Attend(int layer, int p, float* q, float* output)
    {
        var c = Config;
        int hd = c.HeadDim, group = c.HeadCount / c.HeadCountKv;
        float scale = 1f / MathF.Sqrt(hd);
        var cacheType = Cache.Type == KvCacheType.F16 ? GgmlType.F16 : GgmlType.F32;
        ref readonly var kk = ref _k[cacheType];
        int es = Cache.ElementSize;
        for (int h = 0; h < c.HeadCount; h++)
        {
            int kvOff = h / group * hd;
            // Scores q·k / sqrt(head_dim); the query is rounded to the cache's type as ggml's vec_dot does.
            kk.FromFloat(q + h * hd, _qHead, hd);
            for (int t = 0; t <= p; t++) _scores[t] = kk.VecDot(Cache.Key(layer, t) + kvOff * es, _qHead, hd) * scale;
            _k.Softmax(_scores, p + 1);

            // Weighted sum of the values.
            float* o = output + h * hd;
            new Span<float>(o, hd).Clear();
            for (int t = 0; t <= p; t++)
            {
                float a = _scores[t];
                byte* v = Cache.Value(layer, t) + kvOff * es;
                if (es == 2)
                {
                    for (int i = 0; i < hd; i++) o[i] += a * Fp16.ToFloat(((ushort*)v)[i]);
                }
                else
                {
                    for (int i = 0; i < hd; i++) o[i] += a * ((float*)v)[i];
                }
            }
        }
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
        foreach (nint p in _allocations) NativeMemory.AlignedFree((void*)p);
        _allocations.Clear();
        _rope.Dispose();
        Cache.Dispose();
    }
}
