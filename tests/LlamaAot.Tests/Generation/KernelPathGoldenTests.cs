// The golden generations under every kernel path this machine runs: each path must stay token-exact (and, since
// every path reproduces the Reference arithmetic, give the same logits).
using LlamaAot.Gguf;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Model;

namespace LlamaAot.Tests.Generation;

public class KernelPathGoldenTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelTable.IsAvailable))
        {
            foreach (string m in GoldenGenerationTests.Models) data.Add(KernelTable.Name(isa), m);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_generation_is_token_exact_on_every_path(string path, string model)
    {
        Assert.True(KernelTable.TryParse(path, out var isa));
        using var file = GgufFile.Open(TestPaths.Model(model + ".gguf"));
        using var m = new LlamaModel(file, new ModelOptions { ContextSize = 512, Isa = isa, Threads = 2 });
        Assert.Equal(isa, m.Isa);
        foreach (var g in Golden.Load(model))
        {
            m.Evaluate(g.PromptIds, 0);
            double nmse = Golden.Nmse(m.Logits(), Golden.ReadLogits(g.LogitsFile));
            Assert.True(nmse <= Tolerances.GoldenLogitsNmse, $"{path} {g}: normalised MSE {nmse:E3}");
            var ids = new List<int>();
            int pos = g.PromptIds.Length;
            while (ids.Count < g.GeneratedIds.Length)
            {
                int next = Argmax(m.Logits());
                ids.Add(next);
                if (ids.Count < g.GeneratedIds.Length) m.Evaluate([next], pos++);
            }
            Assert.True(g.GeneratedIds.SequenceEqual(ids), $"{path} {g}: expected [{string.Join(",", g.GeneratedIds)}] got [{string.Join(",", ids)}]");
        }
    }

    public static TheoryData<string, string> FormatCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(i => i != KernelIsa.Reference && KernelTable.IsAvailable(i)))
        {
            foreach (string m in GoldenGenerationTests.FormatModels) data.Add(KernelTable.Name(isa), m);
        }
        return data;
    }

    /// <summary>The other block formats (and the Q4_K_M mix): every SIMD path reproduces the Reference arithmetic, so
    /// the logits of each golden prompt and of a few greedy steps after it are bit-identical to the Reference path's
    /// (the golden comparison itself, with its pinned known divergences, is GoldenGenerationTests').</summary>
    [Theory]
    [MemberData(nameof(FormatCases))]
    public void Every_path_gives_the_reference_logits_bit_for_bit(string path, string model)
    {
        Assert.True(KernelTable.TryParse(path, out var isa));
        using var file = GgufFile.Open(TestPaths.Model(model + ".gguf"));
        using var fast = new LlamaModel(file, new ModelOptions { ContextSize = 256, Isa = isa, Threads = 2 });
        using var reference = new LlamaModel(file, new ModelOptions { ContextSize = 256, Isa = KernelIsa.Reference, Threads = 2 });
        foreach (var g in Golden.Load(model))
        {
            fast.Evaluate(g.PromptIds, 0);
            reference.Evaluate(g.PromptIds, 0);
            int pos = g.PromptIds.Length;
            for (int step = 0; step < 4; step++)
            {
                var want = reference.Logits();
                var got = fast.Logits();
                for (int i = 0; i < want.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
                    {
                        Assert.Fail($"{path} {g} step {step}: logit {i} is {got[i]:R}, reference {want[i]:R}");
                    }
                }
                int next = Argmax(want);
                fast.Evaluate([next], pos);
                reference.Evaluate([next], pos);
                pos++;
            }
        }
    }

    /// <summary>Greedy choice: the highest logit, the lowest id on a tie (as llama.cpp's golden run).</summary>
    private static int Argmax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }
}
