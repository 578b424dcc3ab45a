// The model's tensors as views into the memory-mapped file (never copied), checked against the config at load.
// ggml dims: a weight of shape [in, out] stores `out` rows of `in` elements each.
using LlamaAot.Gguf;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Model;

/// <summary>A 2-D weight used in place: Rows rows of Cols elements, RowBytes apart.</summary>
public readonly unsafe struct WeightMatrix(string name, byte* data, GgmlType type, int rows, int cols)
{
    public readonly string Name = name;
    public readonly byte* Data = data;
    public readonly GgmlType Type = type;
    public readonly int Rows = rows;
    public readonly int Cols = cols;
    public readonly long RowBytes = GgmlTypes.RowBytes(type, cols);

    public byte* Row(int r) => Data + r * RowBytes;

    public long Bytes => RowBytes * Rows;
}

public sealed class LayerWeights
{
    public required float[] AttnNorm { get; init; }    // (dim)
    public required WeightMatrix Wq { get; init; }     // (n_head·head_dim, dim)
    public required WeightMatrix Wk { get; init; }     // (n_kv_head·head_dim, dim)
    public required WeightMatrix Wv { get; init; }     // (n_kv_head·head_dim, dim)
    public required WeightMatrix Wo { get; init; }     // (dim, n_head·head_dim)
    public required float[] FfnNorm { get; init; }     // (dim)
    public required WeightMatrix WGate { get; init; }  // (n_ff, dim)
    public required WeightMatrix WUp { get; init; }    // (n_ff, dim)
    public required WeightMatrix WDown { get; init; }  // (dim, n_ff)
}

public sealed unsafe class LlamaWeights
{
    public required WeightMatrix TokenEmbedding { get; init; }  // (vocab, dim)
    public required LayerWeights[] Layers { get; init; }
    public required float[] OutputNorm { get; init; }           // (dim)
    public required WeightMatrix Output { get; init; }          // (vocab, dim); the embedding when tied

    /// <summary>Bytes of weights one decode step reads: every layer's seven matrices and the output matrix (of the
    /// token embedding, only one row is gathered unless it is the output too).</summary>
    public long BytesPerToken => Layers.Sum(l => l.Wq.Bytes + l.Wk.Bytes + l.Wv.Bytes + l.Wo.Bytes + l.WGate.Bytes + l.WUp.Bytes + l.WDown.Bytes)
        + Output.Bytes;

    public static LlamaWeights Load(GgufFile file, LlamaConfig c, KernelTable kernels)
    {
        WeightMatrix Matrix(string name, int cols, int rows, bool multiply = true)
        {
            var t = file.GetTensor(name);
            if (t.NDims != 2 || t.Dims[0] != cols || t.Dims[1] != rows)
            {
                throw new LlamaAotException($"'{file.Path}': tensor '{name}' has shape [{string.Join(", ", t.Dims)}], expected [{cols}, {rows}]");
            }
            bool usable = multiply ? kernels.CanMultiply(t.Type) : kernels[t.Type].ToFloat != null;
            if (!usable)
            {
                throw new LlamaAotException($"'{file.Path}': tensor '{name}' has type {t.TypeName}, which this build cannot compute yet");
            }
            return new WeightMatrix(name, file.GetDataPointer(t), t.Type, rows, cols);
        }

        float[] Vector(string name, int n)
        {
            var t = file.GetTensor(name);
            if (t.ElementCount != n || t.Dims[0] != n)
            {
                throw new LlamaAotException($"'{file.Path}': tensor '{name}' has shape [{string.Join(", ", t.Dims)}], expected [{n}]");
            }
            var convert = kernels[t.Type].ToFloat;
            if (convert == null) throw new LlamaAotException($"'{file.Path}': tensor '{name}' has type {t.TypeName}, which this build cannot compute yet");
            // Norm weights are a few KB; an fp32 copy keeps the element-wise kernels single-typed.
            var v = new float[n];
            fixed (float* p = v) convert(file.GetDataPointer(t), p, n);
            return v;
        }

        int dim = c.EmbeddingLength;
        var layers = new LayerWeights[c.BlockCount];
        for (int i = 0; i < c.BlockCount; i++)
        {
            string p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttnNorm = Vector(p + "attn_norm.weight", dim),
                Wq = Matrix(p + "attn_q.weight", dim, c.QDim),
                Wk = Matrix(p + "attn_k.weight", dim, c.KvDim),
                Wv = Matrix(p + "attn_v.weight", dim, c.KvDim),
                Wo = Matrix(p + "attn_output.weight", c.QDim, dim),
                FfnNorm = Vector(p + "ffn_norm.weight", dim),
                WGate = Matrix(p + "ffn_gate.weight", dim, c.FeedForwardLength),
                WUp = Matrix(p + "ffn_up.weight", dim, c.FeedForwardLength),
                WDown = Matrix(p + "ffn_down.weight", c.FeedForwardLength, dim),
            };
        }
        // The embedding is only ever row-looked-up, unless it doubles as the output matrix.
        bool tied = file.FindTensor("output.weight") is null;
        var embedding = Matrix("token_embd.weight", dim, c.VocabSize, multiply: tied);
        return new LlamaWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector("output_norm.weight", dim),
            Output = tied ? embedding : Matrix("output.weight", dim, c.VocabSize),
        };
    }
}
