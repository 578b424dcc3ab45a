// Llama hyperparameters read from GGUF metadata ({arch}.* keys), with llama.cpp's defaults where keys are optional.
using LlamaAot.Gguf;

namespace LlamaAot.Model;

public sealed record LlamaConfig
{
    public required string Architecture { get; init; }
    public required int ContextLength { get; init; }      // trained context (n_ctx_train)
    public required int EmbeddingLength { get; init; }    // n_embd
    public required int BlockCount { get; init; }         // n_layer
    public required int FeedForwardLength { get; init; } // n_ff
    public required int HeadCount { get; init; }          // n_head
    public required int HeadCountKv { get; init; }        // n_head_kv (GQA when < n_head)
    public required int HeadDim { get; init; }            // n_embd / n_head
    public required int RopeDims { get; init; }           // rotated dims per head (n_rot)
    public required float RopeFreqBase { get; init; }
    public required float RopeFreqScale { get; init; }    // 1 / linear scaling factor
    public required float RmsEps { get; init; }
    public required int VocabSize { get; init; }

    public int KvDim => HeadCountKv * HeadDim;
    public int QDim => HeadCount * HeadDim;

    public static LlamaConfig FromGguf(GgufFile file)
    {
        var m = file.Metadata;
        string arch = m.GetStringOrNull("general.architecture") ?? throw new LlamaAotException($"'{file.Path}': general.architecture is missing");
        if (arch != "llama") throw new LlamaAotException($"'{file.Path}': unsupported architecture '{arch}' (supported: llama)");

        int Int(string key, int? fallback = null)
        {
            string full = $"{arch}.{key}";
            long v = fallback is { } f ? m.GetInteger(full, f) : m.GetInteger(full);
            if (v <= 0 || v > int.MaxValue) throw new LlamaAotException($"'{file.Path}': {full} = {v} is out of range");
            return (int)v;
        }

        int nEmbd = Int("embedding_length");
        int nHead = Int("attention.head_count");
        int nHeadKv = Int("attention.head_count_kv", nHead);
        if (nEmbd % nHead != 0) throw new LlamaAotException($"'{file.Path}': embedding_length {nEmbd} is not a multiple of head_count {nHead}");
        if (nHead % nHeadKv != 0) throw new LlamaAotException($"'{file.Path}': head_count {nHead} is not a multiple of head_count_kv {nHeadKv}");
        int headDim = Int("attention.key_length", nEmbd / nHead);
        int nRot = Int("rope.dimension_count", headDim);
        if (nRot > headDim || nRot % 2 != 0) throw new LlamaAotException($"'{file.Path}': rope.dimension_count {nRot} does not fit head size {headDim}");

        float freqScale = 1f;
        string? scalingType = m.GetStringOrNull($"{arch}.rope.scaling.type");
        float factor = m.GetFloat($"{arch}.rope.scaling.factor", m.GetFloat($"{arch}.rope.scale_linear", 0f));
        if (scalingType is null or "linear" or "none")
        {
            if (scalingType != "none" && factor > 0) freqScale = 1f / factor;
        }
        else
        {
            throw new LlamaAotException($"'{file.Path}': rope scaling '{scalingType}' is not supported (supported: linear)");
        }

        var tokens = m.GetArray("tokenizer.ggml.tokens");
        float eps = m.GetFloat($"{arch}.attention.layer_norm_rms_epsilon", 1e-5f);
        if (!(eps > 0)) throw new LlamaAotException($"'{file.Path}': layer_norm_rms_epsilon must be positive");
        return new LlamaConfig
        {
            Architecture = arch,
            ContextLength = Int("context_length"),
            EmbeddingLength = nEmbd,
            BlockCount = Int("block_count"),
            FeedForwardLength = Int("feed_forward_length"),
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            HeadDim = headDim,
            RopeDims = nRot,
            RopeFreqBase = m.GetFloat($"{arch}.rope.freq_base", 10000f),
            RopeFreqScale = freqScale,
            RmsEps = eps,
            VocabSize = tokens.Count,
        };
    }
}
