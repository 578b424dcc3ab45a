// `llama-aot quantize` against llama.cpp's own quantizer: the shared synth-mini-<TYPE> files were written by
// llama-quantize --pure from synth-mini-F32, and stories260K-Q4_K_M by llama-quantize Q4_K_M from stories260K-F32,
// so the same input must give the same tensors here; every mix must load and stay as close to the F32 logits as
// llama.cpp's file of that type does.
using LlamaAot.Cli;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;
using LlamaAot.Model;
using LlamaAot.Tools;

namespace LlamaAot.Tests.Tools;

public sealed class QuantizeTests : IDisposable
{
    private static readonly string SynthF32 = TestPaths.Model("synth-mini-F32.gguf");
    private static readonly string StoriesF32 = TestPaths.Model("stories260K-F32.gguf");
    private static readonly int[] Prompt = [1, 403, 407, 261, 378];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"llama-aot-quantize-{Guid.NewGuid():N}");

    public QuantizeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Quantize(string input, string type, bool pure, TextWriter? log = null)
    {
        Assert.True(Quantizer.TryParseTarget(type, out var target), type);
        string output = Path.Combine(_dir, $"{Path.GetFileNameWithoutExtension(input)}-{type}{(pure ? "-pure" : "")}.gguf");
        Quantizer.Run(input, output, target, pure, threads: 2, log);
        return output;
    }

    /// <summary>Same tensors in the same order, types, shapes and bytes.</summary>
    private static void AssertSameTensors(string expectedPath, string actualPath)
    {
        using var expected = GgufFile.Open(expectedPath);
        using var actual = GgufFile.Open(actualPath);
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name));
        foreach (var e in expected.Tensors)
        {
            var a = actual.GetTensor(e.Name);
            Assert.True(e.Type == a.Type, $"{e.Name}: llama.cpp wrote {e.TypeName}, we wrote {a.TypeName}");
            Assert.Equal(e.Dims, a.Dims);
            Assert.True(expected.GetData(e).SequenceEqual(actual.GetData(a)), $"{e.Name} ({e.TypeName}): bytes differ from llama.cpp's");
        }
    }

    // The synth-mini files are --pure (every 2-D weight in one type; Q3_K/Q4_K/Q5_K are the pure forms of the _M
    // mixes); the stories260K files are llama.cpp's own mixes, with their shape fallbacks. The metadata is copied
    // in order with quantization_version and file_type re-set at the end, as ggml does, so whole files match.
    [Theory]
    [InlineData("synth-mini", "F16", true, "F16")]
    [InlineData("synth-mini", "Q8_0", true, "Q8_0")]
    [InlineData("synth-mini", "Q4_0", true, "Q4_0")]
    [InlineData("synth-mini", "Q4_1", true, "Q4_1")]
    [InlineData("synth-mini", "Q5_0", true, "Q5_0")]
    [InlineData("synth-mini", "Q5_1", true, "Q5_1")]
    [InlineData("synth-mini", "Q2_K", true, "Q2_K")]
    [InlineData("synth-mini", "Q3_K_M", true, "Q3_K")]
    [InlineData("synth-mini", "Q4_K_M", true, "Q4_K")]
    [InlineData("synth-mini", "Q5_K_M", true, "Q5_K")]
    [InlineData("synth-mini", "Q6_K", true, "Q6_K")]
    [InlineData("stories260K", "F16", false, "F16")]
    [InlineData("stories260K", "Q8_0", false, "Q8_0")]
    [InlineData("stories260K", "Q4_0", false, "Q4_0")]
    [InlineData("stories260K", "Q4_K_M", false, "Q4_K_M")]
    public void Output_matches_llama_cpp_byte_for_byte(string model, string type, bool pure, string referenceSuffix)
    {
        string ours = Quantize(TestPaths.Model($"{model}-F32.gguf"), type, pure);
        string reference = TestPaths.Model($"{model}-{referenceSuffix}.gguf");
        AssertSameTensors(reference, ours);
        Assert.True(File.ReadAllBytes(reference).AsSpan().SequenceEqual(File.ReadAllBytes(ours)), "tensors match but file bytes differ");
    }

    [Fact]
    public void Stories_Q4_K_M_fallbacks_are_noted()
    {
        var log = new StringWriter();
        string ours = Quantize(StoriesF32, "Q4_K_M", pure: false, log);
        // 64-wide rows cannot hold 256-element blocks: Q4_K → Q5_0, Q6_K (attn_v and ffn_down of the use_more_bits
        // layers 2 and 4) → Q8_0; ffn_down rows are 172 wide, not a multiple of 32 either → F16.
        string text = log.ToString();
        Assert.Contains("note: token_embd.weight: row length 64 is not a multiple of 256 (Q4_K), using Q5_0\n", text);
        Assert.DoesNotContain("note: output.weight", text);   // the output rule itself picks Q8_0 for such rows
        Assert.Contains("note: blk.2.attn_v.weight: row length 64 is not a multiple of 256 (Q6_K), using Q8_0\n", text);
        Assert.Contains("note: blk.0.ffn_down.weight: row length 172 is not a multiple of 256 (Q4_K), using F16\n", text);
        Assert.Contains("note: blk.2.ffn_down.weight: row length 172 is not a multiple of 256 (Q6_K), using F16\n", text);
        Assert.Contains("\r[####################] 100% done", text);
        using var f = GgufFile.Open(ours);
        Assert.Equal(15u, f.Metadata.GetUInt32("general.file_type"));
        Assert.Equal(2u, f.Metadata.GetUInt32("general.quantization_version"));
    }

    /// <summary>Logits of the prompt, one thread, so the numbers do not depend on the machine.</summary>
    private static float[] PromptLogits(string path)
    {
        using var file = GgufFile.Open(path);
        using var model = new LlamaModel(file, new ModelOptions { ContextSize = 64, Threads = 1 });
        model.Evaluate(Prompt, 0);
        return model.Logits().ToArray();
    }

    private static double Nmse(float[] actual, float[] expected)
    {
        double err = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = actual[i] - expected[i];
            err += d * d;
            norm += (double)expected[i] * expected[i];
        }
        return err / norm;
    }

    private static readonly Lazy<float[]> F32Logits = new(() => PromptLogits(SynthF32));

    // Each mix against llama.cpp's --pure file of its base type: the mix spends more bits on output.weight (and on
    // attn_v/ffn_down in the K mixes), so it must be at least about as close to F32. The factor 1.5 absorbs the
    // luck of 5 tokens on a random-weight model. Measured ours/llama.cpp: F16, Q8_0, Q6_K 1.00 (same tensors);
    // Q5_0 1.00, Q5_1 1.00, Q5_K_M 0.99, Q4_1 0.95, Q4_K_M 0.94, Q4_0 0.92, Q3_K_M 0.89, Q2_K 0.88.
    private const double MixVsPureFactor = 1.5;
    // BF16 has no llama.cpp file here: against the F16 file, its 8-bit mantissa (vs 11) makes each weight's error
    // 8× larger, the squared error 64×. Measured: 27× (1.2e-4 vs 4.5e-6).
    private const double Bf16VsF16Factor = 64;

    [Theory]
    [InlineData("F16", "F16")]
    [InlineData("BF16", "F16")]
    [InlineData("Q8_0", "Q8_0")]
    [InlineData("Q4_0", "Q4_0")]
    [InlineData("Q4_1", "Q4_1")]
    [InlineData("Q5_0", "Q5_0")]
    [InlineData("Q5_1", "Q5_1")]
    [InlineData("Q2_K", "Q2_K")]
    [InlineData("Q3_K_M", "Q3_K")]
    [InlineData("Q4_K_M", "Q4_K")]
    [InlineData("Q5_K_M", "Q5_K")]
    [InlineData("Q6_K", "Q6_K")]
    public void Every_type_loads_and_stays_within_llama_cpp_tolerance(string type, string referenceSuffix)
    {
        string ours = Quantize(SynthF32, type, pure: false);
        double nmse = Nmse(PromptLogits(ours), F32Logits.Value);
        double reference = Nmse(PromptLogits(TestPaths.Model($"synth-mini-{referenceSuffix}.gguf")), F32Logits.Value);
        double limit = reference * (type == "BF16" ? Bf16VsF16Factor : MixVsPureFactor);
        Assert.True(nmse <= limit, $"{type}: logits NMSE {nmse:E3} vs F32, limit {limit:E3} (llama.cpp's {referenceSuffix}: {reference:E3})");
    }

    [Fact]
    public void Quantized_input_is_requantized_and_same_type_is_copied()
    {
        // Q8_0 → Q4_0 stacks two roundings: within the mix tolerance of llama.cpp's Q4_0 made from F32
        // (measured 0.20 vs 0.17).
        string fromQ8 = Quantize(TestPaths.Model("synth-mini-Q8_0.gguf"), "Q4_0", pure: true);
        double limit = Nmse(PromptLogits(TestPaths.Model("synth-mini-Q4_0.gguf")), F32Logits.Value) * MixVsPureFactor;
        Assert.True(Nmse(PromptLogits(fromQ8), F32Logits.Value) <= limit);
        // Q8_0 → Q8_0 keeps every tensor's bytes (llama.cpp does not requantize a tensor already in its type).
        AssertSameTensors(TestPaths.Model("synth-mini-Q8_0.gguf"), Quantize(TestPaths.Model("synth-mini-Q8_0.gguf"), "Q8_0", pure: true));
    }

    // The rules for a TinyLlama-shaped model (22 layers, 32 heads, 4 KV heads): llama.cpp's use_more_bits picks
    // layers 0, 1, 4, 7, 10, 13, 16, 19, 20, 21 (first and last eighth, then every third).
    private static Dictionary<string, GgmlType> TinyLlamaTypes(string type)
    {
        Assert.True(Quantizer.TryParseTarget(type, out var target));
        var names = new List<(string Name, long[] Dims)> { ("output.weight", [2048, 32000]), ("output_norm.weight", [2048]), ("token_embd.weight", [2048, 32000]) };
        for (int l = 0; l < 22; l++)
        {
            foreach (var (n, d) in new (string, long[])[]
            {
                ("attn_k.weight", [2048, 256]), ("attn_norm.weight", [2048]), ("attn_output.weight", [2048, 2048]),
                ("attn_q.weight", [2048, 2048]), ("attn_v.weight", [2048, 256]), ("ffn_down.weight", [5632, 2048]),
                ("ffn_gate.weight", [2048, 5632]), ("ffn_norm.weight", [2048]), ("ffn_up.weight", [2048, 5632]),
            })
            {
                names.Add(($"blk.{l}.{n}", d));
            }
        }
        var chooser = new QuantizeTypeChooser(target, pure: false, new QuantizeModelInfo(22, 32, 4), names.Select(n => n.Name));
        var result = new Dictionary<string, GgmlType>();
        foreach (var (name, dims) in names)
        {
            result[name] = chooser.Choose(name, dims, GgmlType.F32, out string? note);
            Assert.Null(note);
        }
        return result;
    }

    private static readonly int[] MoreBitsLayers = [0, 1, 4, 7, 10, 13, 16, 19, 20, 21];

    [Fact]
    public void TinyLlama_mixes_follow_llama_cpp_rules()
    {
        var q4km = TinyLlamaTypes("Q4_K_M");
        var q5km = TinyLlamaTypes("Q5_K_M");
        var q3km = TinyLlamaTypes("Q3_K_M");
        var q2k = TinyLlamaTypes("Q2_K");
        for (int l = 0; l < 22; l++)
        {
            bool more = MoreBitsLayers.Contains(l);
            string p = $"blk.{l}.";
            Assert.Equal(more ? GgmlType.Q6_K : GgmlType.Q4_K, q4km[p + "attn_v.weight"]);
            Assert.Equal(more ? GgmlType.Q6_K : GgmlType.Q4_K, q4km[p + "ffn_down.weight"]);
            Assert.Equal(more ? GgmlType.Q6_K : GgmlType.Q5_K, q5km[p + "attn_v.weight"]);
            Assert.Equal(more ? GgmlType.Q6_K : GgmlType.Q5_K, q5km[p + "ffn_down.weight"]);
            Assert.Equal(l < 2 ? GgmlType.Q5_K : GgmlType.Q4_K, q3km[p + "attn_v.weight"]);
            Assert.Equal(l < 22 / 16 ? GgmlType.Q5_K : GgmlType.Q4_K, q3km[p + "ffn_down.weight"]);
            Assert.Equal(GgmlType.Q4_K, q3km[p + "attn_output.weight"]);
            Assert.Equal(GgmlType.Q4_K, q2k[p + "attn_v.weight"]);     // n_gqa = 8 ≥ 4
            Assert.Equal(GgmlType.Q3_K, q2k[p + "ffn_down.weight"]);
            Assert.Equal(GgmlType.Q3_K, q2k[p + "attn_output.weight"]);
            foreach (string n in new[] { "attn_q.weight", "attn_k.weight", "ffn_gate.weight", "ffn_up.weight" })
            {
                Assert.Equal(GgmlType.Q4_K, q4km[p + n]);
                Assert.Equal(GgmlType.Q5_K, q5km[p + n]);
                Assert.Equal(GgmlType.Q3_K, q3km[p + n]);
                Assert.Equal(GgmlType.Q2_K, q2k[p + n]);
            }
            Assert.Equal(GgmlType.F32, q4km[p + "attn_norm.weight"]);
            Assert.Equal(GgmlType.Q4_K, q4km[p + "attn_output.weight"]);
        }
        foreach (var (mix, embd) in new[] { (q4km, GgmlType.Q4_K), (q5km, GgmlType.Q5_K), (q3km, GgmlType.Q3_K), (q2k, GgmlType.Q2_K) })
        {
            Assert.Equal(GgmlType.Q6_K, mix["output.weight"]);
            Assert.Equal(embd, mix["token_embd.weight"]);
            Assert.Equal(GgmlType.F32, mix["output_norm.weight"]);
        }
    }

    [Fact]
    public void Tied_embedding_gets_the_output_type()
    {
        Assert.True(Quantizer.TryParseTarget("Q4_0", out var target));
        var chooser = new QuantizeTypeChooser(target, pure: false, new QuantizeModelInfo(2, 8, 2), ["token_embd.weight", "blk.0.attn_q.weight"]);
        Assert.Equal(GgmlType.Q6_K, chooser.Choose("token_embd.weight", [512, 512], GgmlType.F32, out _));
        Assert.Equal(GgmlType.Q4_0, chooser.Choose("blk.0.attn_q.weight", [512, 512], GgmlType.F32, out _));
    }

    private (int Code, string Stderr) RunCli(params string[] args)
    {
        var stderr = new StringWriter();
        var ctx = new CliContext(new MemoryStream(), new MemoryStream(), stderr);
        int code = QuantizeCommand.Run(args, ctx);
        ctx.Stdout.Flush();
        return (code, stderr.ToString());
    }

    [Fact]
    public void Cli_writes_the_file_and_reports_sizes()
    {
        string output = Path.Combine(_dir, "cli-Q8_0.gguf");
        var (code, stderr) = RunCli(StoriesF32, output, "q8_0");
        Assert.Equal(0, code);
        Assert.Contains("% blk.", stderr);
        Assert.Contains("quantized ", stderr);
        Assert.Contains("MiB) as Q8_0 in ", stderr);
        Assert.Contains("tensor types: 11 F32, 5 F16, 32 Q8_0", stderr);   // ffn_down (172 wide) falls back to F16
        using var f = GgufFile.Open(output);
        Assert.Equal(7u, f.Metadata.GetUInt32("general.file_type"));
    }

    [Fact]
    public void Cli_unknown_type_is_a_usage_error()
    {
        var e = Assert.Throws<UsageException>(() => RunCli(StoriesF32, Path.Combine(_dir, "x.gguf"), "Q4_9"));
        Assert.Contains("unknown quantization type 'Q4_9'", e.Message);
        Assert.Contains("Q4_K_M", e.Message);
    }

    [Fact]
    public void Cli_same_input_and_output_is_refused()
    {
        string copy = Path.Combine(_dir, "same.gguf");
        File.Copy(StoriesF32, copy);
        var e = Assert.Throws<UsageException>(() => RunCli(copy, Path.Combine(_dir, ".", "same.gguf"), "Q8_0"));
        Assert.Contains("same file", e.Message);
        Assert.Equal(new FileInfo(StoriesF32).Length, new FileInfo(copy).Length);
    }

    [Fact]
    public void Cli_missing_input_is_named()
    {
        string missing = Path.Combine(_dir, "missing.gguf");
        var e = Assert.Throws<LlamaAotException>(() => RunCli(missing, Path.Combine(_dir, "out.gguf"), "Q8_0"));
        Assert.Contains($"'{missing}' does not exist", e.Message);
    }

    [Fact]
    public void Cli_wrong_argument_count_is_a_usage_error()
    {
        Assert.Throws<UsageException>(() => RunCli(StoriesF32, "Q8_0"));
        Assert.Throws<UsageException>(() => RunCli(StoriesF32, Path.Combine(_dir, "o.gguf"), "Q8_0", "--bogus"));
    }

    [Fact]
    public void Unreadable_input_type_is_named_and_nothing_is_written()
    {
        // An IQ4_NL weight parses (its geometry is known) but has no dequantizer here.
        string input = Path.Combine(_dir, "iq4nl.gguf");
        var w = new GgufWriter();
        w.Metadata.Set("general.architecture", GgufValue.Of("llama"));
        w.Metadata.Set("llama.block_count", GgufValue.Of(1u));
        w.AddTensor("blk.0.attn_q.weight", GgmlType.IQ4_NL, [32, 2], new byte[2 * 18]);
        w.WriteTo(input);
        string output = Path.Combine(_dir, "iq4nl-out.gguf");
        var e = Assert.Throws<LlamaAotException>(() => RunCli(input, output, "Q4_0"));
        Assert.Contains("tensor 'blk.0.attn_q.weight' is IQ4_NL, which cannot be read", e.Message);
        Assert.False(File.Exists(output));
    }
}
