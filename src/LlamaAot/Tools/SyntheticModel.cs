// Writes a Llama GGUF of a named shape with seeded random weights, byte-identical on every run and machine, so
// speed work can use realistic sizes without downloading anything. Every row's values come from its own
// SplitMix64 stream keyed by (seed, tensor name, row), so rows can be generated in parallel in any order.
using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Tools;

public sealed record ModelShape(string Name, int Dim, int Layers, int Heads, int KvHeads, int Ffn, int Context)
{
    public static readonly ModelShape[] Known =
    [
        new("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 2048),
        new("llama-7b", 4096, 32, 32, 32, 11008, 4096),
        new("mini", 256, 2, 4, 2, 704, 512),   // seconds to write; for tests
    ];

    public static ModelShape Get(string name) =>
        Array.Find(Known, s => s.Name == name)
        ?? throw new LlamaAotException($"unknown shape '{name}' (known: {string.Join(", ", Known.Select(s => s.Name))})");
}

public static unsafe class SyntheticModel
{
    /// <summary>Weight types a synthetic model can be written in, with their general.file_type ids (the K types as
    /// the _S mixes, which hold mostly that type).</summary>
    private static readonly Dictionary<GgmlType, LlamaFileType> FileTypes = new()
    {
        [GgmlType.F32] = LlamaFileType.AllF32, [GgmlType.F16] = LlamaFileType.MostlyF16, [GgmlType.BF16] = LlamaFileType.MostlyBF16,
        [GgmlType.Q4_0] = LlamaFileType.MostlyQ4_0, [GgmlType.Q4_1] = LlamaFileType.MostlyQ4_1, [GgmlType.Q8_0] = LlamaFileType.MostlyQ8_0,
        [GgmlType.Q5_0] = LlamaFileType.MostlyQ5_0, [GgmlType.Q5_1] = LlamaFileType.MostlyQ5_1, [GgmlType.Q2_K] = LlamaFileType.MostlyQ2_K,
        [GgmlType.Q3_K] = LlamaFileType.MostlyQ3_K_S, [GgmlType.Q4_K] = LlamaFileType.MostlyQ4_K_S,
        [GgmlType.Q5_K] = LlamaFileType.MostlyQ5_K_S, [GgmlType.Q6_K] = LlamaFileType.MostlyQ6_K,
    };

    /// <summary>The fp32 → type row quantizer (llama.cpp's reference quantizers, no importance matrix).</summary>
    public static delegate*<float*, byte*, int, void> Quantizer(GgmlType type) => type switch
    {
        GgmlType.F32 => &ConvertRow.ToF32,
        GgmlType.F16 => &ConvertRow.ToF16,
        GgmlType.BF16 => &ConvertRow.ToBF16,
        GgmlType.Q4_0 => &QuantizeFormats.Q4_0Ref,
        GgmlType.Q4_1 => &QuantizeFormats.Q4_1Ref,
        GgmlType.Q5_0 => &QuantizeFormats.Q5_0Ref,
        GgmlType.Q5_1 => &QuantizeFormats.Q5_1Ref,
        GgmlType.Q8_0 => &QuantizeFormats.Q8_0Ref,
        GgmlType.Q2_K => &QuantizeFormats.Q2_KRef,
        GgmlType.Q3_K => &QuantizeFormats.Q3_KRef,
        GgmlType.Q4_K => &QuantizeFormats.Q4_KRef,
        GgmlType.Q5_K => &QuantizeFormats.Q5_KRef,
        GgmlType.Q6_K => &QuantizeFormats.Q6_KRef,
        _ => null,
    };

    public static IEnumerable<GgmlType> SupportedTypes => FileTypes.Keys;

    /// <summary>Writes the model. <paramref name="vocabFile"/> supplies tokenizer.* metadata (the 32,000-token
    /// LLaMA vocabulary). The output matrix uses <paramref name="outputType"/> (llama.cpp's quantizer keeps it at
    /// higher precision, e.g. Q6_K for Q4_0 files).</summary>
    public static void Write(string path, ModelShape shape, GgmlType type, GgmlType outputType, string vocabFile, ulong seed = 1)
    {
        if (!FileTypes.ContainsKey(type)) throw new LlamaAotException($"cannot write synthetic weights of type {type}");
        if (!FileTypes.ContainsKey(outputType)) throw new LlamaAotException($"cannot write synthetic weights of type {outputType}");
        using var vocab = GgufFile.Open(vocabFile);
        var tokens = vocab.Metadata.GetArray("tokenizer.ggml.tokens");
        int nVocab = tokens.Count;

        var w = new GgufWriter();
        var m = w.Metadata;
        m.Set("general.architecture", GgufValue.Of("llama"));
        m.Set("general.name", GgufValue.Of($"synthetic {shape.Name} {type}"));
        m.Set("general.file_type", GgufValue.Of((uint)FileTypes[type]));
        m.Set("general.quantization_version", GgufValue.Of(2u));
        m.Set("llama.context_length", GgufValue.Of((uint)shape.Context));
        m.Set("llama.embedding_length", GgufValue.Of((uint)shape.Dim));
        m.Set("llama.block_count", GgufValue.Of((uint)shape.Layers));
        m.Set("llama.feed_forward_length", GgufValue.Of((uint)shape.Ffn));
        m.Set("llama.attention.head_count", GgufValue.Of((uint)shape.Heads));
        m.Set("llama.attention.head_count_kv", GgufValue.Of((uint)shape.KvHeads));
        m.Set("llama.rope.dimension_count", GgufValue.Of((uint)(shape.Dim / shape.Heads)));
        m.Set("llama.rope.freq_base", GgufValue.Of(10000f));
        m.Set("llama.attention.layer_norm_rms_epsilon", GgufValue.Of(1e-5f));
        m.Set("llama.vocab_size", GgufValue.Of((uint)nVocab));
        foreach (var kv in vocab.Metadata.Entries)
        {
            if (kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal)) m.Set(kv.Key, kv.Value);
        }

        int dim = shape.Dim, kvDim = shape.KvHeads * (dim / shape.Heads);
        void Matrix(string name, int cols, int rows, GgmlType t) =>
            w.AddTensor(name, t, [cols, rows], s => WriteRows(s, name, rows, cols, t, seed));
        void Ones(string name) =>
            w.AddTensor(name, GgmlType.F32, [dim], s => { for (int i = 0; i < dim; i++) s.Write(BitConverter.GetBytes(1f)); });

        Matrix("token_embd.weight", dim, nVocab, type);
        for (int l = 0; l < shape.Layers; l++)
        {
            string p = $"blk.{l}.";
            Ones(p + "attn_norm.weight");
            Matrix(p + "attn_q.weight", dim, dim, type);
            Matrix(p + "attn_k.weight", dim, kvDim, type);
            Matrix(p + "attn_v.weight", dim, kvDim, type);
            Matrix(p + "attn_output.weight", dim, dim, type);
            Ones(p + "ffn_norm.weight");
            Matrix(p + "ffn_gate.weight", dim, shape.Ffn, type);
            Matrix(p + "ffn_up.weight", dim, shape.Ffn, type);
            Matrix(p + "ffn_down.weight", shape.Ffn, dim, type);
        }
        Ones("output_norm.weight");
        Matrix("output.weight", dim, nVocab, outputType);
        w.WriteTo(path);
    }

    private static void WriteRows(Stream s, string name, int rows, int cols, GgmlType type, ulong seed)
    {
        const int chunkRows = 256;
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        ulong tensorKey = seed ^ Fnv1a(name);
        float std = 0.02f;
        byte[] buffer = new byte[chunkRows * rowBytes];
        for (int r0 = 0; r0 < rows; r0 += chunkRows)
        {
            int n = Math.Min(chunkRows, rows - r0);
            Parallel.For(0, n, i =>
            {
                float* row = (float*)NativeMemory.Alloc((nuint)cols * 4);
                try
                {
                    var rng = new SplitMix64(tensorKey + (ulong)(r0 + i) * 0x9E3779B97F4A7C15UL);
                    for (int c = 0; c < cols; c++) row[c] = rng.NextGaussian() * std;
                    fixed (byte* dst = &buffer[i * rowBytes]) Quantizer(type)(row, dst, cols);
                }
                finally
                {
                    NativeMemory.Free(row);
                }
            });
            s.Write(buffer, 0, (int)(n * rowBytes));
        }
    }

    private static ulong Fnv1a(string s)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (char ch in s)
        {
            h ^= ch;
            h *= 0x100000001b3UL;
        }
        return h;
    }

    /// <summary>SplitMix64 with a Box–Muller normal: fixed algorithms, so files never change across .NET versions.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;
        private float _spare = float.NaN;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        private double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        public float NextGaussian()
        {
            if (!float.IsNaN(_spare))
            {
                float s = _spare;
                _spare = float.NaN;
                return s;
            }
            double u1 = 1.0 - NextDouble(), u2 = NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            _spare = (float)(r * Math.Sin(2 * Math.PI * u2));
            return (float)(r * Math.Cos(2 * Math.PI * u2));
        }
    }
}
