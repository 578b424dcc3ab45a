// A model file that parses as GGUF but is not a usable Llama is a clear one-line error at load.
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Tests.Generation;

public class ModelLoadErrorTests
{
    private static readonly string Stories = TestPaths.Model("stories260K-Q8_0.gguf");

    /// <summary>Writes a copy of stories260K with <paramref name="edit"/> applied and runs the CLI on it.</summary>
    private static CliResult RunOnEdited(Action<GgufFile, GgufWriter> edit)
    {
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-edit-{Guid.NewGuid():N}.gguf");
        try
        {
            using (var file = GgufFile.Open(Stories))
            {
                var w = new GgufWriter(file.Version);
                foreach (var kv in file.Metadata.Entries) w.Metadata.TryAdd(kv.Key, kv.Value);
                edit(file, w);
                w.WriteTo(path);
            }
            return CliRunner.Run("-m", path, "-p", "Once", "-n", "2");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void CopyTensors(GgufFile file, GgufWriter w, Func<GgufTensorInfo, bool> keep, Func<GgufTensorInfo, long[]>? dims = null)
    {
        foreach (var t in file.Tensors)
        {
            if (!keep(t)) continue;
            long[] d = dims?.Invoke(t) ?? t.Dims;
            byte[] data = new byte[GgmlTypes.RowBytes(t.Type, d[0]) * d.Skip(1).Aggregate(1L, (a, b) => a * b)];
            int n = (int)Math.Min(data.Length, t.ByteSize);
            file.GetData(t)[..n].CopyTo(data);
            w.AddTensor(t.Name, t.Type, d, data);
        }
    }

    private static void AssertLoadError(CliResult r, params string[] fragments)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("error: ", line);
        foreach (string f in fragments) Assert.Contains(f, line);
    }

    [Fact]
    public void Unsupported_architecture_is_named()
    {
        var r = RunOnEdited((f, w) =>
        {
            w.Metadata.Set("general.architecture", GgufValue.Of("gpt2"));
            CopyTensors(f, w, _ => true);
        });
        AssertLoadError(r, "unsupported architecture 'gpt2'");
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        var r = RunOnEdited((f, w) => CopyTensors(f, w, t => t.Name != "blk.3.ffn_up.weight"));
        AssertLoadError(r, "tensor 'blk.3.ffn_up.weight' is missing");
    }

    [Fact]
    public void Shape_mismatch_names_tensor_and_shapes()
    {
        var r = RunOnEdited((f, w) => CopyTensors(f, w, _ => true, t => t.Name == "blk.1.attn_q.weight" ? [64, 32] : t.Dims));
        AssertLoadError(r, "blk.1.attn_q.weight", "[64, 32]", "expected [64, 64]");
    }

    [Fact]
    public void Tensor_type_without_kernels_is_named()
    {
        // IQ4_NL has the same block geometry as Q4_0 but no compute kernels yet.
        var r = RunOnEdited((f, w) =>
        {
            foreach (var t in f.Tensors)
            {
                var type = t.Name == "blk.0.attn_k.weight" ? GgmlType.IQ4_NL : t.Type;
                byte[] data = new byte[GgmlTypes.RowBytes(type, t.Dims[0]) * (t.ElementCount / t.Dims[0])];
                w.AddTensor(t.Name, type, t.Dims, data);
            }
        });
        AssertLoadError(r, "blk.0.attn_k.weight", "IQ4_NL", "cannot compute");
    }

    [Fact]
    public void Tied_embedding_is_used_when_output_is_absent()
    {
        var r = RunOnEdited((f, w) => CopyTensors(f, w, t => t.Name != "output.weight"));
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void Perplexity_above_the_trained_context_warns_and_runs()
    {
        var r = CliRunner.Run("perplexity", "-m", Stories, "-f", Path.Combine(TestPaths.Golden, "ppl.txt"), "-c", "256");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("warning: context 256 is larger than the 128", r.Stderr);
        Assert.Matches(@"^PPL = 3\.5\d{3} \+/- ", r.Stdout);
    }
}
