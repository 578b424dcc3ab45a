// The generation loop: evaluate the prompt in batches, then sample one token at a time until end-of-generation,
// the requested count or the end of the context. Timings exclude load and are reported like llama.cpp's.
using System.Diagnostics;
using LlamaAot.Sampling;

namespace LlamaAot.Inference;

public sealed record GenerationStats(int PromptTokens, double PromptMs, int GeneratedTokens, double GenerateMs, bool StoppedAtContextEnd)
{
    public double PromptTokensPerSecond => PromptMs > 0 ? PromptTokens * 1000.0 / PromptMs : 0;
    public double GenerateTokensPerSecond => GenerateMs > 0 ? GeneratedTokens * 1000.0 / GenerateMs : 0;
}

public sealed class Generator(LoadedModel loaded, SamplerOptions samplerOptions)
{
    private readonly Sampler _sampler = new(loaded.Model.Config.VocabSize, samplerOptions);

    /// <summary>Called with the logits of the last prompt position before anything is sampled.</summary>
    public Action<ReadOnlySpan<float>>? OnPromptLogits { get; init; }

    /// <summary>Generates after <paramref name="prompt"/>. <paramref name="onToken"/> gets every sampled id, including
    /// a final end-of-generation token (which stops the loop unless <paramref name="ignoreEos"/>).</summary>
    public GenerationStats Run(ReadOnlySpan<int> prompt, int nPredict, bool ignoreEos, Action<int> onToken)
    {
        var model = loaded.Model;
        int ctx = model.ContextSize;
        if (prompt.Length >= ctx)
        {
            throw new LlamaAotException($"the prompt is {prompt.Length} tokens long but the context holds {ctx} (use -c to enlarge it)");
        }

        var history = new int[ctx];
        prompt.CopyTo(history);
        int n = prompt.Length;

        var sw = Stopwatch.StartNew();
        model.Evaluate(prompt, 0);
        double promptMs = sw.Elapsed.TotalMilliseconds;
        OnPromptLogits?.Invoke(model.Logits());

        int limit = nPredict < 0 ? int.MaxValue : nPredict;
        int generated = 0;
        bool contextEnd = false;
        sw.Restart();
        while (generated < limit)
        {
            int next = _sampler.Sample(model.Logits(), history.AsSpan(0, n));
            generated++;
            onToken(next);
            if (!ignoreEos && loaded.Vocab.IsEndOfGeneration(next)) break;
            if (generated >= limit) break;
            if (n >= ctx)
            {
                contextEnd = true;
                break;
            }
            history[n] = next;
            model.Evaluate(history.AsSpan(n, 1), n);
            n++;
        }
        return new GenerationStats(prompt.Length, promptMs, generated, sw.Elapsed.TotalMilliseconds, contextEnd);
    }
}
