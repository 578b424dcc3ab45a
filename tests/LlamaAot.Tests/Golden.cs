// Reads llama.cpp's reference outputs in ../shared/golden (format: ../shared/golden/README.md) and runs the CLI
// in-process, so tests exercise exactly what a user runs.
using System.Text;
using System.Text.Json;
using LlamaAot.Cli;

namespace LlamaAot.Tests;

public sealed record GoldenPrompt(
    string ModelFile, int Index, string Prompt, int[] PromptIds, int NPredict, int[] GeneratedIds, string GeneratedText,
    bool StoppedAtEog, string LogitsFile, float[] StepTop1Margin)
{
    public override string ToString() => $"{ModelFile} p{Index}";
}

public static class Golden
{
    public static IReadOnlyList<GoldenPrompt> Load(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Golden, model + ".json")));
        var root = doc.RootElement;
        int nPredict = root.GetProperty("n_predict").GetInt32();
        var list = new List<GoldenPrompt>();
        int i = 0;
        foreach (var p in root.GetProperty("prompts").EnumerateArray())
        {
            list.Add(new GoldenPrompt(
                model + ".gguf", i++, p.GetProperty("prompt").GetString()!,
                Ints(p.GetProperty("prompt_ids")), nPredict, Ints(p.GetProperty("generated_ids")),
                p.GetProperty("generated_text").GetString()!, p.GetProperty("stopped_at_eog").GetBoolean(),
                Path.Combine(TestPaths.Shared, p.GetProperty("last_prompt_logits_file").GetString()!),
                p.GetProperty("step_top1_margin").EnumerateArray().Select(e => e.GetSingle()).ToArray()));
        }
        return list;
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    public static float[] ReadLogits(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var f = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, f, 0, bytes.Length);
        return f;
    }

    /// <summary>Normalised MSE: Σ(a−b)² / Σb², b the reference.</summary>
    public static double Nmse(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference)
    {
        if (actual.Length != reference.Length) throw new ArgumentException($"length {actual.Length} != {reference.Length}");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - reference[i];
            num += d * d;
            den += (double)reference[i] * reference[i];
        }
        return num / den;
    }
}

/// <summary>Result of one in-process CLI run.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

public static class CliRunner
{
    public static CliResult Run(string[] args, byte[]? stdin = null)
    {
        var output = new MemoryStream();
        var error = new StringWriter();
        int code = CliApp.Run(args, new MemoryStream(stdin ?? []), output, error);
        return new CliResult(code, new UTF8Encoding(false).GetString(output.ToArray()), error.ToString());
    }

    public static CliResult Run(params string[] args) => Run(args, null);

    /// <summary>The user-error contract: exit code 2, nothing on stdout, exactly one `error: ` line (not an internal
    /// error) on stderr, containing <paramref name="mustContain"/>.</summary>
    public static void AssertUserError(CliResult r, string mustContain)
    {
        Xunit.Assert.True(r.ExitCode == 2, $"exit code {r.ExitCode}, expected 2; stderr: {r.Stderr}");
        Xunit.Assert.Equal("", r.Stdout);
        Xunit.Assert.EndsWith("\n", r.Stderr, StringComparison.Ordinal);
        string line = r.Stderr.TrimEnd('\n').TrimEnd('\r');
        Xunit.Assert.True(!line.Contains('\n', StringComparison.Ordinal), $"stderr has more than one line:\n{r.Stderr}");
        Xunit.Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Xunit.Assert.DoesNotContain("internal error", line, StringComparison.Ordinal);
        Xunit.Assert.Contains(mustContain, line, StringComparison.Ordinal);
    }
}
