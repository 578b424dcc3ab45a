// `llama-aot info` in-process: the text and JSON views against what the GGUF reader says, per-tensor XXH64, and the
// error contract (exit code 2, exactly one `error: ` line on stderr, nothing on stdout).
using System.Globalization;
using System.Text;
using System.Text.Json;
using LlamaAot.Cli;
using LlamaAot.Gguf;
using LlamaAot.Hashing;
using LlamaAot.Tests.Gguf;
using Xunit;

namespace LlamaAot.Tests.Cli;

public sealed class InfoCliTests : IDisposable
{
    private static readonly string ModelPath = TestPaths.Model("stories260K-Q8_0.gguf");
    private readonly string _tempDir = Path.Combine(Path.GetTempPath(), $"llamaaot-info-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public InfoCliTests() => Directory.CreateDirectory(_tempDir);

    public void Dispose() => Directory.Delete(_tempDir, recursive: true);

    private static CliResult Run(params string[] args) => CliRunner.Run(args);

    private static string Hex(ulong h) => h.ToString("x16", CultureInfo.InvariantCulture);

    [Fact]
    public void TextListsTensorsAndParameterCount()
    {
        var r = Run("info", ModelPath);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Equal("", r.Stderr);

        using var f = GgufFile.Open(ModelPath);
        long parameters = f.Tensors.Sum(t => t.ElementCount);
        Assert.Equal(292800, parameters);   // 2x(64x512) + 64, then 5 layers of 2x64 + 2x(64x64) + 2x(64x32) + 3x(64x172)
        string[] lines = r.Stdout.Split('\n');
        Assert.StartsWith("GGUF v3: ", lines[0], StringComparison.Ordinal);
        Assert.Contains($"tensors: {f.Tensors.Count}", lines);
        Assert.Contains($"metadata: {f.Metadata.Count} keys", lines);
        foreach (var t in f.Tensors)
        {
            string line = Assert.Single(lines, l => l.Contains($": {t.Name} ", StringComparison.Ordinal));
            Assert.Contains($" {t.TypeName} ", line, StringComparison.Ordinal);
            Assert.Contains($" {t.ShapeText} ", line, StringComparison.Ordinal);
            Assert.Contains($" {t.ByteSize} bytes", line, StringComparison.Ordinal);
            Assert.DoesNotContain("xxh64", line, StringComparison.Ordinal);
        }
        Assert.Contains(lines, l => l.StartsWith($"parameters: {parameters} ", StringComparison.Ordinal));
        Assert.Contains("llama.block_count = 5", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonHasVersionMetadataAndTensors()
    {
        var r = Run("info", ModelPath, "--json");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Equal("", r.Stderr);

        using var f = GgufFile.Open(ModelPath);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("version").GetInt32());
        Assert.Equal(f.DataOffset, root.GetProperty("data_offset").GetInt64());
        Assert.Equal(f.Tensors.Sum(t => t.ElementCount), root.GetProperty("parameters").GetInt64());

        var meta = root.GetProperty("metadata");
        Assert.Equal(f.Metadata.Count, meta.EnumerateObject().Count());
        Assert.Equal(5, meta.GetProperty("llama.block_count").GetInt32());
        Assert.Equal("llama", meta.GetProperty("general.architecture").GetString());
        Assert.Equal(1e-5f, meta.GetProperty("llama.attention.layer_norm_rms_epsilon").GetSingle());
        Assert.Equal(4294967295UL, meta.GetProperty("tokenizer.ggml.padding_token_id").GetUInt64());
        var tokens = meta.GetProperty("tokenizer.ggml.tokens");
        Assert.Equal("str", tokens.GetProperty("element_type").GetString());
        Assert.Equal(512, tokens.GetProperty("length").GetInt32());
        Assert.Equal(["<unk>", "<s>", "</s>"], tokens.GetProperty("first").EnumerateArray().Take(3).Select(e => e.GetString()));

        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(f.Tensors.Count, tensors.Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = f.Tensors[i];
            var j = tensors[i];
            Assert.Equal(t.Name, j.GetProperty("name").GetString());
            Assert.Equal(t.TypeName, j.GetProperty("type").GetString());
            Assert.Equal(t.Dims, j.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            Assert.Equal(t.ByteSize, j.GetProperty("bytes").GetInt64());
            Assert.Equal(t.Offset, j.GetProperty("offset").GetUInt64());
            Assert.False(j.TryGetProperty("xxh64", out _));
        }
    }

    [Fact]
    public void JsonHashIsXxh64OfEachTensor()
    {
        var r = Run("info", "--hash", "--json", ModelPath);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");

        using var f = GgufFile.Open(ModelPath);
        using var doc = JsonDocument.Parse(r.Stdout);
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(f.Tensors.Count, tensors.Count);
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Count; i++)
        {
            string expected = Hex(XxHash64.HashToUInt64(f.GetData(f.Tensors[i])));
            Assert.Equal(expected, tensors[i].GetProperty("xxh64").GetString());
            distinct.Add(expected);
        }
        Assert.True(distinct.Count > f.Tensors.Count / 2, "hashes should differ between tensors");   // the 5 per-layer norms may coincide
    }

    [Fact]
    public void TextHashIsXxh64OfEachTensor()
    {
        var r = Run("info", ModelPath, "--hash");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        using var f = GgufFile.Open(ModelPath);
        string[] lines = r.Stdout.Split('\n');
        foreach (var t in f.Tensors)
        {
            string line = Assert.Single(lines, l => l.Contains($": {t.Name} ", StringComparison.Ordinal));
            Assert.EndsWith($"xxh64 {Hex(XxHash64.HashToUInt64(f.GetData(t)))}", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void VocabOnlyFileHasNoTensors()
    {
        var r = Run("info", "--json", TestPaths.Model("vocab-llama-spm.gguf"));
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(0, doc.RootElement.GetProperty("tensors").GetArrayLength());
        Assert.Equal(0, doc.RootElement.GetProperty("parameters").GetInt64());
        Assert.Equal(32000, doc.RootElement.GetProperty("metadata").GetProperty("tokenizer.ggml.tokens").GetProperty("length").GetInt32());
    }

    private static void AssertUserError(CliResult r, string expectedFragment) => CliRunner.AssertUserError(r, expectedFragment);

    [Fact]
    public void HostileFileIsAUserError()
    {
        string path = Path.Combine(_tempDir, "hostile.gguf");
        // A tensor count that cannot fit, and a key whose name contains a line break (must not split the error line).
        File.WriteAllBytes(path, new GgufBuilder().Header(1UL << 62, 0).Zeros(64).ToArray());
        AssertUserError(Run("info", path), "tensor count");

        File.WriteAllBytes(path, GgufBuilder.MetadataOnly(2).KvU32("bad\nkey", 1).KvU32("bad\nkey", 2).ToArray());
        AssertUserError(Run("info", path, "--json"), "duplicate metadata key");

        File.WriteAllBytes(path, GgufBuilder.SingleTensor().ToArray()[..100]);
        AssertUserError(Run("info", "--hash", path), "past the end");
    }

    [Fact]
    public void MissingFileIsAUserError()
    {
        AssertUserError(Run("info", Path.Combine(_tempDir, "no-such-model.gguf")), "no such file");
    }

    [Fact]
    public void DirectoryIsAUserError()
    {
        AssertUserError(Run("info", _tempDir), "directory");
    }

    [Fact]
    public void EmptyFileIsAUserError()
    {
        string path = Path.Combine(_tempDir, "empty.gguf");
        File.WriteAllBytes(path, []);
        AssertUserError(Run("info", path), "too short");
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--jsn")]
    [InlineData("-x")]
    public void BadFlagIsAUserError(string flag)
    {
        AssertUserError(Run("info", ModelPath, flag), $"unknown flag '{flag}'");
        AssertUserError(Run("info", flag, ModelPath), $"unknown flag '{flag}'");
    }

    [Fact]
    public void WrongNumberOfModelsIsAUserError()
    {
        AssertUserError(Run("info"), "MODEL");
        AssertUserError(Run("info", ModelPath, ModelPath), "MODEL");
    }
}
