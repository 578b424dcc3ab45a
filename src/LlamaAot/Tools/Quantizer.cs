// `llama-aot quantize`: rewrites a GGUF model with its weights in another type. The type of each tensor is chosen
// the way llama.cpp's quantizer chooses it (src/llama-quant.cpp, llama_tensor_get_type) for a Llama model without
// experts and without an importance matrix, and the rows go through the same reference quantizers, so a file made
// here matches the one `llama-quantize` makes from the same input.
//   LlamaFileType        llama.cpp's LLAMA_FTYPE ids (general.file_type) and their command-line names
//   QuantizeTypeChooser  the per-tensor rules: quantize_state_impl + llama_tensor_get_type + the shape fallback
//   Quantizer.Plan       one TensorPlan per tensor, in llama.cpp's output order
//   Quantizer.Run        streams every tensor to the writer: a chunk of rows → fp32 → target type, rows in parallel
using System.Diagnostics;
using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Tools;

/// <summary>llama.cpp's <c>llama_ftype</c>: what general.file_type says a file mostly holds.</summary>
public enum LlamaFileType : uint
{
    AllF32 = 0, MostlyF16 = 1, MostlyQ4_0 = 2, MostlyQ4_1 = 3,
    // 4..6 were Q4_1_SOME_F16, Q4_2 and Q4_3, removed from llama.cpp.
    MostlyQ8_0 = 7, MostlyQ5_0 = 8, MostlyQ5_1 = 9,
    MostlyQ2_K = 10, MostlyQ3_K_S = 11, MostlyQ3_K_M = 12, MostlyQ3_K_L = 13,
    MostlyQ4_K_S = 14, MostlyQ4_K_M = 15, MostlyQ5_K_S = 16, MostlyQ5_K_M = 17, MostlyQ6_K = 18,
    MostlyBF16 = 32,
}

/// <summary>One target the command line accepts: its name, its file type and the type most weights get.</summary>
public readonly record struct QuantizeTarget(string Name, LlamaFileType FileType, GgmlType DefaultType);

/// <summary>What happens to one tensor: kept, copied as is (already in its type), or converted.</summary>
public sealed record TensorPlan(GgufTensorInfo Source, GgmlType Type, string? FallbackNote)
{
    public bool Converts => Type != Source.Type;
    public long OutputBytes => GgmlTypes.RowBytes(Type, Source.RowLength) * Source.Rows;
}

public sealed record QuantizeSummary(LlamaFileType FileType, long InputBytes, long OutputBytes, TimeSpan Elapsed, IReadOnlyList<TensorPlan> Tensors);

/// <summary>The Llama hyper-parameters the type rules look at.</summary>
public readonly record struct QuantizeModelInfo(int BlockCount, int HeadCount, int HeadCountKv)
{
    /// <summary>llama.cpp's n_gqa(): query heads per key/value head.</summary>
    public int Gqa => HeadCountKv > 0 ? HeadCount / HeadCountKv : 1;

    /// <summary>llama.cpp calls an 80-layer Llama with grouped-query attention LLM_TYPE_70B (same heads: 65B).</summary>
    public bool Is70B => BlockCount == 80 && HeadCount != HeadCountKv;

    public static QuantizeModelInfo FromMetadata(GgufMetadata m, string path)
    {
        string arch = m.GetStringOrNull("general.architecture") ?? "llama";
        string blockKey = arch + ".block_count";
        if (!m.ContainsKey(blockKey)) throw new LlamaAotException($"'{path}': metadata key '{blockKey}' is missing");
        int blocks = (int)m.GetInteger(blockKey);
        int heads = (int)m.GetInteger(arch + ".attention.head_count", 0);
        int kv = (int)m.GetInteger(arch + ".attention.head_count_kv", heads);
        return new QuantizeModelInfo(blocks, heads, kv);
    }
}

/// <summary>
/// The per-tensor type rules of llama.cpp's quantizer for the K-quant mixes (quantize_state_impl plus
/// llama_tensor_get_type), for a Llama model with no experts and no importance matrix. Stateful like llama.cpp's:
/// the attn_v and ffn_down rules count those tensors, so <see cref="Choose"/> must see them in layer order.
/// </summary>
public sealed class QuantizeTypeChooser
{
    private readonly QuantizeTarget _target;
    private readonly bool _pure;
    private readonly QuantizeModelInfo _model;
    private readonly bool _hasOutput;        // no output.weight: token_embd doubles as the output matrix
    private readonly int _nAttentionWv;      // attn_v/attn_qkv tensors in the file
    private int _iAttentionWv;
    private int _iFfnDown;

    public QuantizeTypeChooser(QuantizeTarget target, bool pure, QuantizeModelInfo model, IEnumerable<string> tensorNames)
    {
        _target = target;
        _pure = pure;
        _model = model;
        foreach (string name in tensorNames)
        {
            if (name.Contains("attn_v.weight", StringComparison.Ordinal) || name.Contains("attn_qkv.weight", StringComparison.Ordinal)
                || name.Contains("attn_kv_b.weight", StringComparison.Ordinal))
            {
                _nAttentionWv++;
            }
            else if (name == "output.weight")
            {
                _hasOutput = true;
            }
        }
    }

    /// <summary>llama.cpp quantizes a tensor only if it is a 2-D (or 3-D expert) weight that is not a norm or
    /// one of a few small special matrices; everything else is copied in its own type.</summary>
    public static bool AllowsQuantization(string name, int nDims) =>
        nDims >= 2
        && name.EndsWith("weight", StringComparison.Ordinal)
        && !name.Contains("_norm.weight", StringComparison.Ordinal)
        && !name.Contains("ffn_gate_inp.weight", StringComparison.Ordinal)   // expert router
        && name != "position_embd.weight" && name != "token_types.weight"
        && !name.Contains("attn_rel_b.weight", StringComparison.Ordinal);

    /// <summary>The type of one tensor; <paramref name="note"/> says why when its shape forced a fallback.</summary>
    public GgmlType Choose(string name, long[] dims, GgmlType sourceType, out string? note)
    {
        note = null;
        if (!AllowsQuantization(name, dims.Length)) return sourceType;
        GgmlType type = _target.DefaultType;
        // F16/BF16 targets are plain conversions: every weight, the output matrix too, takes the target type.
        if (!GgmlTypes.Get(type).IsQuantized) return type;
        if (!_pure) type = ChooseForRole(name, dims[0], type);
        return Fallback(name, dims[0], type, out note);
    }

    private static bool UseMoreBits(int iLayer, int nLayers) =>
        iLayer < nLayers / 8 || iLayer >= 7 * nLayers / 8 || (iLayer - nLayers / 8) % 3 == 2;

    // llama_tensor_get_type's branches for the file types we offer, in its order; the IQ, MXFP4, Falcon and
    // n_expert == 8 branches cannot apply to a Llama without experts and are left out.
    private GgmlType ChooseForRole(string name, long nx, GgmlType type)
    {
        var ft = _target.FileType;
        bool Has(string part) => name.Contains(part, StringComparison.Ordinal);

        if (name == "output.weight" || (!_hasOutput && name == "token_embd.weight"))
        {
            // The output matrix decides every logit: Q6_K unless the file is Q8_0 already, or Q8_0 when the row
            // does not fit the default type's blocks.
            if (nx % GgmlTypes.Get(type).BlockSize != 0) return GgmlType.Q8_0;
            return type != GgmlType.Q8_0 ? GgmlType.Q6_K : type;
        }
        if (name == "token_embd.weight")
        {
            return type;   // only the IQ and ternary mixes change the embedding
        }
        if (Has("attn_v.weight"))
        {
            if (ft == LlamaFileType.MostlyQ2_K) type = _model.Gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (ft == LlamaFileType.MostlyQ3_K_M) type = _iAttentionWv < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
            else if (ft == LlamaFileType.MostlyQ3_K_L) type = GgmlType.Q5_K;
            else if (ft is LlamaFileType.MostlyQ4_K_M or LlamaFileType.MostlyQ5_K_M && UseMoreBits(_iAttentionWv, _nAttentionWv)) type = GgmlType.Q6_K;
            else if (ft == LlamaFileType.MostlyQ4_K_S && _iAttentionWv < 4) type = GgmlType.Q5_K;
            // 70B shares each attn_v among 8 heads, so it is 8× smaller than attn_q: more bits cost little.
            if (_model.Is70B && type is GgmlType.Q3_K or GgmlType.Q4_K) type = GgmlType.Q5_K;
            _iAttentionWv++;
            return type;
        }
        if (Has("attn_k.weight") || Has("attn_q.weight")) return type;
        if (Has("ffn_down"))
        {
            int i = _iFfnDown++, n = _model.BlockCount;
            return ft switch
            {
                LlamaFileType.MostlyQ2_K => GgmlType.Q3_K,
                LlamaFileType.MostlyQ3_K_M => i < n / 16 ? GgmlType.Q5_K : GgmlType.Q4_K,
                LlamaFileType.MostlyQ3_K_L => GgmlType.Q5_K,
                LlamaFileType.MostlyQ4_K_M => UseMoreBits(i, n) ? GgmlType.Q6_K : type,
                LlamaFileType.MostlyQ5_K_M => UseMoreBits(i, n) ? GgmlType.Q6_K : type,
                LlamaFileType.MostlyQ4_K_S => i < n / 8 ? GgmlType.Q5_K : type,
                _ => type,
            };
        }
        if (Has("attn_output.weight"))
        {
            return ft switch
            {
                LlamaFileType.MostlyQ2_K => GgmlType.Q3_K,
                LlamaFileType.MostlyQ3_K_M => GgmlType.Q4_K,
                LlamaFileType.MostlyQ3_K_L => GgmlType.Q5_K,
                _ => type,
            };
        }
        if (Has("attn_qkv.weight"))
        {
            return ft switch
            {
                LlamaFileType.MostlyQ3_K_M or LlamaFileType.MostlyQ3_K_L => GgmlType.Q4_K,
                LlamaFileType.MostlyQ4_K_M => GgmlType.Q5_K,
                LlamaFileType.MostlyQ5_K_M => GgmlType.Q6_K,
                _ => type,
            };
        }
        return type;   // ffn_gate / ffn_up only change for the IQ3_XS mix
    }

    /// <summary>A row must hold whole blocks. llama.cpp's fallback table for the K types (Q2_K/Q3_K → Q4_0,
    /// Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0), then F16 when even 32 does not divide the row. llama.cpp of the
    /// golden commit sends Q2_K/Q3_K to IQ4_NL, which this runtime cannot multiply; later llama.cpp uses Q4_0.</summary>
    public static GgmlType Fallback(string name, long nx, GgmlType type, out string? note)
    {
        note = null;
        int block = GgmlTypes.Get(type).BlockSize;
        if (nx % block == 0) return type;
        GgmlType fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,   // the 32-element types have nothing smaller to fall back to
        };
        if (nx % GgmlTypes.Get(fallback).BlockSize != 0) fallback = GgmlType.F16;
        note = $"{name}: row length {nx} is not a multiple of {block} ({GgmlTypes.Get(type).Name}), using {GgmlTypes.Get(fallback).Name}";
        return fallback;
    }
}

public static unsafe class Quantizer
{
    /// <summary>The targets `llama-aot quantize` accepts, named as llama-quantize names them.</summary>
    public static readonly QuantizeTarget[] Targets =
    [
        new("F16", LlamaFileType.MostlyF16, GgmlType.F16),
        new("BF16", LlamaFileType.MostlyBF16, GgmlType.BF16),
        new("Q8_0", LlamaFileType.MostlyQ8_0, GgmlType.Q8_0),
        new("Q4_0", LlamaFileType.MostlyQ4_0, GgmlType.Q4_0),
        new("Q4_1", LlamaFileType.MostlyQ4_1, GgmlType.Q4_1),
        new("Q5_0", LlamaFileType.MostlyQ5_0, GgmlType.Q5_0),
        new("Q5_1", LlamaFileType.MostlyQ5_1, GgmlType.Q5_1),
        new("Q2_K", LlamaFileType.MostlyQ2_K, GgmlType.Q2_K),
        new("Q3_K_S", LlamaFileType.MostlyQ3_K_S, GgmlType.Q3_K),
        new("Q3_K_M", LlamaFileType.MostlyQ3_K_M, GgmlType.Q3_K),
        new("Q3_K_L", LlamaFileType.MostlyQ3_K_L, GgmlType.Q3_K),
        new("Q4_K_S", LlamaFileType.MostlyQ4_K_S, GgmlType.Q4_K),
        new("Q4_K_M", LlamaFileType.MostlyQ4_K_M, GgmlType.Q4_K),
        new("Q5_K_S", LlamaFileType.MostlyQ5_K_S, GgmlType.Q5_K),
        new("Q5_K_M", LlamaFileType.MostlyQ5_K_M, GgmlType.Q5_K),
        new("Q6_K", LlamaFileType.MostlyQ6_K, GgmlType.Q6_K),
    ];

    public const int QuantizationVersion = 2;   // GGML_QNT_VERSION
    private const long ChunkBytes = 8 << 20;    // fp32 rows converted per parallel step: memory stays bounded

    /// <summary>A target by name, case-insensitive; Q3_K, Q4_K and Q5_K are llama-quantize's aliases of the _M mixes.</summary>
    public static bool TryParseTarget(string name, out QuantizeTarget target)
    {
        string upper = name.ToUpperInvariant() switch
        {
            "Q3_K" => "Q3_K_M",
            "Q4_K" => "Q4_K_M",
            "Q5_K" => "Q5_K_M",
            var u => u,
        };
        int i = Array.FindIndex(Targets, t => t.Name == upper);
        target = i >= 0 ? Targets[i] : default;
        return i >= 0;
    }

    /// <summary>llama.cpp writes tensors in its loader's order: non-layer tensors first, then by layer number,
    /// by name within each group (llama_model_loader's weight_name_comparer).</summary>
    public static int CompareTensorOrder(string a, string b)
    {
        int la = LayerOf(a), lb = LayerOf(b);
        return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
    }

    private static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', 4);
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), out int layer) ? layer : -1;
    }

    /// <summary>The type of every tensor of <paramref name="file"/>, in output order.</summary>
    public static List<TensorPlan> Plan(GgufFile file, QuantizeTarget target, bool pure)
    {
        var order = file.Tensors.ToList();
        order.Sort((a, b) => CompareTensorOrder(a.Name, b.Name));
        var chooser = new QuantizeTypeChooser(target, pure, QuantizeModelInfo.FromMetadata(file.Metadata, file.Path), order.Select(t => t.Name));
        var plan = new List<TensorPlan>(order.Count);
        foreach (var t in order)
        {
            var type = chooser.Choose(t.Name, t.Dims, t.Type, out string? note);
            if (type != t.Type && ReadRow(t.Type) == null)
            {
                throw new LlamaAotException(
                    $"'{file.Path}': tensor '{t.Name}' is {t.TypeName}, which cannot be read for requantization " +
                    "(readable: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K)");
            }
            plan.Add(new TensorPlan(t, type, note));
        }
        return plan;
    }

    /// <summary>Row reader to fp32 for a stored type (the reference dequantizers), or null when there is none.</summary>
    private static delegate*<byte*, float*, int, void> ReadRow(GgmlType type) =>
        (uint)type < 64 ? KernelTable.For(KernelIsa.Reference)[type].ToFloat : null;

    /// <summary>Quantizes <paramref name="inputPath"/> into <paramref name="outputPath"/>. Notes (shape fallbacks),
    /// a one-line progress bar and nothing else go to <paramref name="log"/>.</summary>
    public static QuantizeSummary Run(string inputPath, string outputPath, QuantizeTarget target, bool pure = false,
        int threads = 0, TextWriter? log = null)
    {
        var sw = Stopwatch.StartNew();
        using var file = GgufFile.Open(inputPath);
        var plan = Plan(file, target, pure);
        string arch = file.Metadata.GetStringOrNull("general.architecture") ?? "?";
        if (arch != "llama" || file.Metadata.GetInteger(arch + ".expert_count", 0) > 0)
        {
            log?.WriteLine($"note: the mix rules are llama.cpp's for a Llama without experts; '{arch}' models may get other types from llama-quantize");
        }
        foreach (var p in plan)
        {
            if (p.FallbackNote is { } note) log?.WriteLine($"note: {note}");
        }

        var w = new GgufWriter();   // GGUF v3 whatever the input's version, as ggml writes
        foreach (var kv in file.Metadata.Entries)
        {
            // llama.cpp re-sets these two (ggml moves a re-set key to the end) and drops the split keys.
            if (kv.Key is "general.quantization_version" or "general.file_type" || kv.Key.StartsWith("split.", StringComparison.Ordinal)) continue;
            w.Metadata.TryAdd(kv.Key, kv.Value);
        }
        w.Metadata.Set("general.quantization_version", GgufValue.Of((uint)QuantizationVersion));
        w.Metadata.Set("general.file_type", GgufValue.Of((uint)target.FileType));

        long totalIn = plan.Sum(p => p.Source.ByteSize);
        var progress = log is null ? null : new ProgressLine(log, totalIn);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : -1 };
        foreach (var p in plan)
        {
            w.AddTensor(p.Source.Name, p.Type, p.Source.Dims, s => WriteTensor(s, file, p, parallel, progress));
        }

        string temp = outputPath + ".tmp-" + Environment.ProcessId;
        try
        {
            w.WriteTo(temp);
            File.Move(temp, outputPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            progress?.Abort();
            throw new LlamaAotException($"cannot write '{outputPath}': {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            progress?.Abort();
            throw;
        }
        progress?.Finish();
        return new QuantizeSummary(target.FileType, new FileInfo(inputPath).Length, new FileInfo(outputPath).Length, sw.Elapsed, plan);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void WriteTensor(Stream s, GgufFile file, TensorPlan p, ParallelOptions parallel, ProgressLine? progress)
    {
        var src = p.Source;
        byte* data = file.GetDataPointer(src);
        if (!p.Converts)
        {
            // Kept tensors (norms, already-right types) are copied byte for byte, as llama.cpp does.
            const int copyChunk = 1 << 22;
            for (long done = 0; done < src.ByteSize; done += copyChunk)
            {
                int n = (int)Math.Min(copyChunk, src.ByteSize - done);
                s.Write(new ReadOnlySpan<byte>(data + done, n));
                progress?.Advance(n, src.Name);
            }
            return;
        }

        int cols = checked((int)src.RowLength);
        long rows = src.Rows;
        long inRowBytes = GgmlTypes.RowBytes(src.Type, cols), outRowBytes = GgmlTypes.RowBytes(p.Type, cols);
        int chunkRows = (int)Math.Clamp(ChunkBytes / (cols * 4L), 1, rows);
        byte* outBuf = (byte*)NativeMemory.Alloc((nuint)(chunkRows * outRowBytes));
        try
        {
            var job = new RowJob
            {
                Source = data, Dest = outBuf, Cols = cols, InRowBytes = inRowBytes, OutRowBytes = outRowBytes,
                Read = src.Type == GgmlType.F32 ? null : ReadRow(src.Type),
                Write = SyntheticModel.Quantizer(p.Type),
            };
            if (job.Write == null) throw new InvalidOperationException($"no quantizer for {p.Type}");
            bool needScratch = job.Read != null;
            for (long r0 = 0; r0 < rows; r0 += chunkRows)
            {
                int n = (int)Math.Min(chunkRows, rows - r0);
                job.FirstRow = r0;
                Parallel.For(0, n, parallel,
                    () => needScratch ? (nint)NativeMemory.Alloc((nuint)cols * sizeof(float)) : 0,
                    (i, _, scratch) =>
                    {
                        job.Row(i, (float*)scratch);
                        return scratch;
                    },
                    scratch => NativeMemory.Free((void*)scratch));
                s.Write(new ReadOnlySpan<byte>(outBuf, checked((int)(n * outRowBytes))));
                progress?.Advance(n * inRowBytes, src.Name);
            }
        }
        finally
        {
            NativeMemory.Free(outBuf);
        }
    }

    /// <summary>One chunk of rows: row i of the chunk is read from the mapping, widened to fp32 and quantized.</summary>
    private sealed class RowJob
    {
        public byte* Source;        // (rows, in row bytes) the whole tensor in the mapping
        public byte* Dest;          // (chunk rows, out row bytes)
        public long FirstRow;
        public int Cols;
        public long InRowBytes, OutRowBytes;
        public delegate*<byte*, float*, int, void> Read;   // null: the source is F32 and is quantized in place
        public delegate*<float*, byte*, int, void> Write;

        public void Row(int i, float* scratch)
        {
            byte* src = Source + (FirstRow + i) * InRowBytes;
            float* x = (float*)src;
            if (Read != null)
            {
                Read(src, scratch, Cols);
                x = scratch;
            }
            Write(x, Dest + i * OutRowBytes, Cols);
        }
    }

    /// <summary>`[#####.....] 45% blk.10.ffn_up.weight`, redrawn with \r when the percentage or tensor changes.</summary>
    private sealed class ProgressLine(TextWriter w, long total)
    {
        private long _done;
        private int _lastPercent = -1;
        private string _lastName = "";
        private int _lastLength;

        public void Advance(long bytes, string name)
        {
            _done += bytes;
            int percent = total > 0 ? (int)(_done * 100 / total) : 100;
            if (percent == _lastPercent && ReferenceEquals(name, _lastName)) return;
            _lastPercent = percent;
            _lastName = name;
            Draw(percent, name);
        }

        public void Finish()
        {
            Draw(100, "done");
            w.WriteLine();
            w.Flush();
        }

        /// <summary>Ends a drawn line so that an error message starts on its own line.</summary>
        public void Abort()
        {
            if (_lastLength == 0) return;
            w.WriteLine();
            w.Flush();
        }

        private void Draw(int percent, string name)
        {
            int filled = percent / 5;
            string line = $"[{new string('#', filled)}{new string('.', 20 - filled)}] {percent,3}% {name}";
            // Pad over the tail of a longer previous line; \r returns to its start.
            w.Write("\r" + line.PadRight(_lastLength));
            _lastLength = line.Length;
            w.Flush();
        }
    }
}
