// Same input, same logits bit for bit: whatever the thread count, and whether the prompt goes through in one batch
// or in batches of 7 (every output element is one fixed-order dot, computed whole by one thread).
using LlamaAot.Gguf;
using LlamaAot.Model;

namespace LlamaAot.Tests.Generation;

public class DeterminismTests
{
    private static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267];

    private static float[] LastLogits(string model, int threads, int batch, KvCacheType cache = KvCacheType.F16)
    {
        using var file = GgufFile.Open(TestPaths.Model(model));
        using var m = new LlamaModel(file, new ModelOptions { ContextSize = 64, BatchSize = batch, Threads = threads, CacheType = cache });
        m.Evaluate(Prompt, 0);
        m.Evaluate([432], Prompt.Length);   // one decode step on top
        return m.Logits().ToArray();
    }

    [Theory]
    [InlineData("stories260K-Q4_0.gguf")]
    [InlineData("synth-mini-Q8_0.gguf")]
    [InlineData("synth-mini-F16.gguf")]
    public void Logits_are_identical_for_1_to_4_threads(string model)
    {
        float[] one = LastLogits(model, 1, 512);
        for (int t = 2; t <= 4; t++) Assert.Equal(one, LastLogits(model, t, 512));
    }

    [Theory]
    [InlineData("stories260K-Q8_0.gguf")]
    [InlineData("synth-mini-Q4_0.gguf")]
    [InlineData("synth-mini-F32.gguf")]
    public void Logits_are_identical_for_one_batch_and_batches_of_7(string model)
    {
        Assert.Equal(LastLogits(model, 2, 512), LastLogits(model, 2, 7));
        Assert.Equal(LastLogits(model, 2, 512, KvCacheType.F32), LastLogits(model, 2, 7, KvCacheType.F32));
    }
}
