// `llama-aot perplexity -m MODEL -f FILE -c N`: llama.cpp's method (see ../shared/golden/perplexity.md):
// tokenize once with BOS, cut into floor(n/ctx) chunks, BOS first in each, score the second half of each chunk.
using System.Globalization;
using LlamaAot.Inference;
using LlamaAot.Model;

namespace LlamaAot.Cli;

internal static class PerplexityCommand
{
    public const string Help = """
        usage: llama-aot perplexity -m MODEL -f FILE [-c N] [-b N] [-t N]
          -c N   tokens per chunk (default 512); contexts above the trained length are allowed with a warning

        """;

    public static int Run(string[] args, CliContext ctx)
    {
        string? model = null, file = null;
        int nCtx = 512, batch = 512, threads = 0;
        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "-m" or "--model": model = r.Value(flag); break;
                case "-f" or "--file": file = r.Value(flag); break;
                case "-c" or "--ctx-size": nCtx = r.Int(flag, 4, 1 << 20); break;
                case "-b" or "--batch-size": batch = r.Int(flag, 1, 1 << 16); break;
                case "-t" or "--threads": threads = r.Int(flag, 1, 1024); break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                default: throw ArgReader.Unknown(flag, "perplexity");
            }
        }
        if (model is null || file is null) throw new UsageException("perplexity needs -m MODEL and -f FILE");
        string text = PromptReader.Decode(PromptReader.ReadFile(file), out bool replaced);
        if (replaced) ctx.Stderr.WriteLine("warning: the text is not valid UTF-8; invalid bytes were replaced by U+FFFD");

        using var loaded = LoadedModel.Load(model, new ModelOptions { ContextSize = nCtx, BatchSize = Math.Min(batch, nCtx), AllLogits = true, Threads = threads });
        ctx.Stderr.WriteLine(loaded.Banner());
        if (nCtx > loaded.Model.Config.ContextLength)
        {
            ctx.Stderr.WriteLine($"warning: context {nCtx} is larger than the {loaded.Model.Config.ContextLength} the model was trained with");
        }
        int[] tokens = loaded.Tokenizer.Encode(text, addBos: true);
        // llama.cpp counts (n_tokens - 1) / n_ctx chunks: the reference table (12 chunks of 128 for 1,664 tokens)
        // follows that, not floor(n_tokens / n_ctx).
        int chunks = (tokens.Length - 1) / nCtx;
        if (chunks == 0) throw new LlamaAotException($"the text is {tokens.Length} tokens long; perplexity needs at least {nCtx} (-c)");
        ctx.Stderr.WriteLine($"perplexity: {tokens.Length} tokens, {chunks} chunks of {nCtx}");

        var result = Compute(loaded, tokens, nCtx, chunks);
        ctx.Stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PPL = {result.Ppl:F4} +/- {result.Error:F5}"));
        return CliApp.ExitOk;
    }

    public readonly record struct Result(double Ppl, double Error, int Scored);

    public static Result Compute(LoadedModel loaded, int[] tokens, int nCtx, int chunks)
    {
        var model = loaded.Model;
        int bos = loaded.Vocab.BosId;
        var chunk = new int[nCtx];
        double nll = 0, nll2 = 0;
        int count = 0, first = nCtx / 2;
        for (int c = 0; c < chunks; c++)
        {
            Array.Copy(tokens, c * nCtx, chunk, 0, nCtx);
            if (bos >= 0) chunk[0] = bos;
            // Each chunk starts from an empty cache: positions restart at 0 and overwrite the old entries.
            for (int start = 0; start < nCtx; start += model.BatchSize)
            {
                int n = Math.Min(model.BatchSize, nCtx - start);
                model.Evaluate(chunk.AsSpan(start, n), start);
                for (int row = 0; row < n; row++)
                {
                    int j = start + row;
                    if (j < first || j >= nCtx - 1) continue;
                    double lp = LogSoftmaxAt(model.Logits(row), chunk[j + 1]);
                    nll -= lp;
                    nll2 += lp * lp;
                    count++;
                }
            }
        }
        double mean = nll / count;
        double var = nll2 / count - mean * mean;
        double ppl = Math.Exp(mean);
        double err = var > 0 && count > 1 ? Math.Sqrt(var / (count - 1)) * ppl : 0;
        return new Result(ppl, err, count);
    }

    private static double LogSoftmaxAt(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        return logits[target] - max - Math.Log(sum);
    }
}
