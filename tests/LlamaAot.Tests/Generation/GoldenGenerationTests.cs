// Token-for-token agreement with llama.cpp: greedy ids and text, last-prompt logits, perplexity.
using System.Globalization;

namespace LlamaAot.Tests.Generation;

public class GoldenGenerationTests
{
    public static readonly string[] Models =
    [
        "stories260K-F32", "stories260K-F16", "stories260K-Q8_0", "stories260K-Q4_0",
        "synth-mini-F32", "synth-mini-F16", "synth-mini-Q8_0", "synth-mini-Q4_0",
    ];

    /// <summary>The block-format coverage set: every other synth-mini type and the stories Q4_K_M mix.</summary>
    public static readonly string[] FormatModels =
    [
        "synth-mini-Q4_1", "synth-mini-Q5_0", "synth-mini-Q5_1", "synth-mini-Q2_K", "synth-mini-Q3_K",
        "synth-mini-Q4_K", "synth-mini-Q5_K", "synth-mini-Q6_K", "stories260K-Q4_K_M",
    ];

    /// <summary>(model, prompt, what) cases that do not yet reproduce llama.cpp exactly; each is pinned down by
    /// <see cref="Known_divergences_stay_bounded"/> instead, so a regression or a fix both show up.</summary>
    private static readonly (string Model, int Prompt, string What)[] KnownDivergences =
    [
        ("synth-mini-Q4_K", 2, "logits"),   // NMSE 1.2e-4: a data-dependent residual in the repacked Q4_K path
        ("synth-mini-Q2_K", 1, "ids"),      // decode steps drift by ~1e-2 from step 5; token 29 flips (margin 0.014)
        ("synth-mini-Q2_K", 1, "text"),
    ];

    public static TheoryData<string, int> Cases() => CasesFor(Models, "");
    public static TheoryData<string, int> IdCases() => CasesFor([.. Models, .. FormatModels], "ids");
    public static TheoryData<string, int> TextCases() => CasesFor([.. Models, .. FormatModels], "text");
    public static TheoryData<string, int> LogitCases() => CasesFor([.. Models, .. FormatModels], "logits");

    private static TheoryData<string, int> CasesFor(string[] models, string what)
    {
        var data = new TheoryData<string, int>();
        foreach (string m in models)
        {
            for (int i = 0; i < Golden.Load(m).Count; i++)
            {
                if (!Array.Exists(KnownDivergences, k => k.Model == m && k.Prompt == i && k.What == what)) data.Add(m, i);
            }
        }
        return data;
    }

    [Fact]
    public void Known_divergences_stay_bounded()
    {
        var q4k = Golden.Load("synth-mini-Q4_K")[2];
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-logits-{Guid.NewGuid():N}.bin");
        try
        {
            Assert.Equal(0, CliRunner.Run(Args(q4k, "--dump-logits", path, "-n", "1")).ExitCode);
            double nmse = Golden.Nmse(Golden.ReadLogits(path), Golden.ReadLogits(q4k.LogitsFile));
            Assert.InRange(nmse, 1e-6, 3e-4);   // below 1e-6 means it is fixed: move it back into the exact tests
        }
        finally
        {
            File.Delete(path);
        }

        var q2k = Golden.Load("synth-mini-Q2_K")[1];
        var r = CliRunner.Run(Args(q2k, "--ids"));
        int[] ids = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        Assert.Equal(q2k.GeneratedIds.Take(29), ids.Take(29));
        Assert.NotEqual(q2k.GeneratedIds, ids);   // equal means it is fixed: move it back into the exact tests
    }

    private static string[] Args(GoldenPrompt g, params string[] extra) =>
        ["-m", TestPaths.Model(g.ModelFile), "-p", g.Prompt, "-c", "512", "--temp", "0", "-n", g.NPredict.ToString(CultureInfo.InvariantCulture), .. extra];

    [Theory]
    [MemberData(nameof(IdCases))]
    public void Greedy_ids_equal_llama_cpp(string model, int prompt)
    {
        var g = Golden.Load(model)[prompt];
        var r = CliRunner.Run(Args(g, "--ids"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        int[] ids = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        Assert.Equal(g.GeneratedIds, ids);
    }

    [Theory]
    [MemberData(nameof(TextCases))]
    public void Greedy_text_equals_llama_cpp(string model, int prompt)
    {
        var g = Golden.Load(model)[prompt];
        var r = CliRunner.Run(Args(g));
        Assert.True(r.ExitCode == 0, r.Stderr);
        // generated_text shows some invalid byte sequences as one U+FFFD per byte where .NET emits one per maximal
        // invalid subpart; runs of U+FFFD are compared as one (the exact bytes are checked by the tokenizer tests).
        Assert.Equal(CollapseReplacement(g.GeneratedText), CollapseReplacement(r.Stdout));
    }

    private static string CollapseReplacement(string s) => System.Text.RegularExpressions.Regex.Replace(s, "\uFFFD+", "\uFFFD");

    [Theory]
    [MemberData(nameof(LogitCases))]
    public void Last_prompt_logits_match_llama_cpp(string model, int prompt)
    {
        var g = Golden.Load(model)[prompt];
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-logits-{Guid.NewGuid():N}.bin");
        try
        {
            var r = CliRunner.Run(Args(g, "--dump-logits", path, "-n", "1"));
            Assert.True(r.ExitCode == 0, r.Stderr);
            double nmse = Golden.Nmse(Golden.ReadLogits(path), Golden.ReadLogits(g.LogitsFile));
            Assert.True(nmse <= Tolerances.GoldenLogitsNmse, $"{g}: normalised MSE {nmse:E3} > {Tolerances.GoldenLogitsNmse:E0}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("stories260K-F32", 4.0156)]
    [InlineData("stories260K-F16", 4.0158)]
    [InlineData("stories260K-Q8_0", 4.0221)]
    [InlineData("stories260K-Q4_0", 4.3558)]
    [InlineData("stories260K-Q4_K_M", 4.1003)]
    public void Perplexity_at_ctx_128_within_half_percent(string model, double expected)
    {
        var r = CliRunner.Run("perplexity", "-m", TestPaths.Model(model + ".gguf"), "-f", Path.Combine(TestPaths.Golden, "ppl.txt"), "-c", "128");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var m = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"^PPL = (\d+\.\d{4}) \+/- (\d+\.\d{5})\s*$");
        Assert.True(m.Success, r.Stdout);
        double ppl = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(ppl, expected * 0.995, expected * 1.005);
    }
}
