// `llama-aot -m MODEL [-p TEXT | -f FILE] [options]`: the continuation streams to stdout token by token; the
// banner, notes and timings go to stderr.
using System.Globalization;
using LlamaAot.Inference;
using LlamaAot.Model;
using LlamaAot.Sampling;
using LlamaAot.Tokenizer;

namespace LlamaAot.Cli;

internal static class GenerateCommand
{
    public const string Help = """
        usage: llama-aot -m MODEL [-p TEXT | -f FILE] [options]
        The prompt is read from stdin to EOF when neither -p nor -f is given; the continuation goes to stdout.

          -m, --model FILE         GGUF model (llama architecture)
          -p, --prompt TEXT        prompt text
          -f, --file FILE          read the prompt from a file
          -n, --n-predict N        tokens to generate (default -1: until end of text or the context is full)
          -c, --ctx-size N         context size (default: the model's, at most 4096)
          -b, --batch-size N       prompt tokens per forward pass (default 512)
          -t, --threads N          threads (default: physical cores)
          --temp T                 temperature (default 0.8; 0 = greedy)
          --top-k N                top-k (default 40; 0 = off)
          --top-p P                top-p (default 0.95; 1 = off)
          --min-p P                min-p (default 0.05; 0 = off)
          --repeat-penalty F       repetition penalty (default 1.0 = off)
          --repeat-last-n N        tokens the penalty looks back over (default 64; -1 = context)
          -s, --seed N             RNG seed (default -1: random)
          --ignore-eos             keep generating after end-of-text
          --cache-type f16|f32     KV cache element type (default f16)
          --prefetch               ask the OS to read the whole model ahead (madvise WILLNEED)
          --mlock                  keep the model in RAM (mlock)
          --affinity               pin each thread to its own physical core (Linux)
          --ids                    print generated token ids, one per line, instead of text
          --dump-logits FILE       write the last prompt position's logits (raw little-endian float32)
          --verbose                stack traces with errors
          -h, --help               this help

        """;

    public static int Run(string[] args, CliContext ctx)
    {
        string? modelPath = null, prompt = null, promptFile = null, dumpLogits = null;
        int nPredict = -1, ctxSize = 0, batch = 512, threads = 0;
        bool ignoreEos = false, printIds = false, prefetch = false, mlock = false, affinity = false;
        ulong? seed = null;
        var cacheType = KvCacheType.F16;
        var so = new SamplerOptions();

        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "-m" or "--model": modelPath = r.Value(flag); break;
                case "-p" or "--prompt": prompt = r.Value(flag); break;
                case "-f" or "--file": promptFile = r.Value(flag); break;
                case "-n" or "--n-predict": nPredict = r.Int(flag, -1); break;
                case "-c" or "--ctx-size": ctxSize = r.Int(flag, 0, 1 << 20); break;
                case "-b" or "--batch-size": batch = r.Int(flag, 1, 1 << 16); break;
                case "-t" or "--threads": threads = r.Int(flag, 1, 1024); break;
                case "--temp": so = so with { Temperature = r.Float(flag, 0) }; break;
                case "--top-k": so = so with { TopK = r.Int(flag, 0) }; break;
                case "--top-p": so = so with { TopP = r.Float(flag, 0, 1) }; break;
                case "--min-p": so = so with { MinP = r.Float(flag, 0, 1) }; break;
                case "--repeat-penalty": so = so with { RepeatPenalty = r.Float(flag, 0) }; break;
                case "--repeat-last-n": so = so with { RepeatLastN = r.Int(flag, -1) }; break;
                case "-s" or "--seed": seed = r.ULong(flag); break;
                case "--ignore-eos": ignoreEos = true; break;
                case "--ids": printIds = true; break;
                case "--prefetch": prefetch = true; break;
                case "--mlock": mlock = true; break;
                case "--affinity": affinity = true; break;
                case "--dump-logits": dumpLogits = r.Value(flag); break;
                case "--cache-type" or "-ctk":
                    string ct = r.Value(flag);
                    cacheType = ct switch
                    {
                        "f16" => KvCacheType.F16,
                        "f32" => KvCacheType.F32,
                        _ => throw new UsageException($"flag {flag}: '{ct}' is not f16 or f32"),
                    };
                    break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                default: throw ArgReader.Unknown(flag, "llama-aot");
            }
        }
        if (r.Positionals.Count > 0) throw new UsageException($"unexpected argument '{r.Positionals[0]}' (see --help)");
        if (modelPath is null) throw new UsageException("no model given: use -m MODEL (see --help)");
        if (prompt is not null && promptFile is not null) throw new UsageException("use either -p or -f, not both");
        so = so with { Seed = seed is null or ulong.MaxValue ? (ulong)Random.Shared.NextInt64() : seed.Value };
        try
        {
            so.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        // Read the prompt before loading the model so a bad prompt file fails fast.
        string text;
        if (prompt is not null)
        {
            text = prompt;
        }
        else
        {
            byte[] bytes = promptFile is not null ? PromptReader.ReadFile(promptFile) : PromptReader.ReadAll(ctx.StdinStream);
            text = PromptReader.Decode(bytes, out bool replaced);
            if (replaced) ctx.Stderr.WriteLine("warning: the prompt is not valid UTF-8; invalid bytes were replaced by U+FFFD");
            // A trailing newline from `echo` or an editor is not part of the prompt.
            if (prompt is null && promptFile is null) text = text.TrimEnd('\n', '\r');
        }

        using var loaded = LoadedModel.Load(modelPath, new ModelOptions
        {
            ContextSize = ctxSize,
            BatchSize = batch,
            CacheType = cacheType,
            Threads = threads,
            Affinity = affinity,
        });
        int[] ids = loaded.Tokenizer.Encode(text, addBos: true);
        if (ids.Length == 0) ids = [loaded.Vocab.BosId >= 0 ? loaded.Vocab.BosId : 0];
        int room = loaded.Model.ContextSize - ids.Length;
        if (ids.Length >= loaded.Model.ContextSize)
        {
            throw new LlamaAotException($"the prompt is {ids.Length} tokens long but the context holds {loaded.Model.ContextSize} (use -c to enlarge it)");
        }
        ctx.Stderr.WriteLine(loaded.Banner());
        if (prefetch && loaded.File.Prefetch() is { } whyNotPrefetch) ctx.Stderr.WriteLine($"warning: {whyNotPrefetch}");
        if (mlock && loaded.File.LockInMemory() is { } whyNotLock) ctx.Stderr.WriteLine($"warning: {whyNotLock}");
        if (ctxSize > loaded.Model.Config.ContextLength)
        {
            ctx.Stderr.WriteLine($"warning: context {ctxSize} is larger than the {loaded.Model.Config.ContextLength} the model was trained with");
        }
        if (nPredict > room)
        {
            ctx.Stderr.WriteLine($"note: -n {nPredict} exceeds the {room} tokens left in the context; generation stops at the context end");
        }

        var decoder = new StreamingDecoder(loaded.Tokenizer, stripLeadingSpace: false);
        var generator = new Generator(loaded, so)
        {
            OnPromptLogits = dumpLogits is null ? null : logits => WriteLogits(dumpLogits, logits),
        };
        var output = ctx.Stdout;
        var stats = generator.Run(ids, nPredict, ignoreEos, id =>
        {
            if (printIds)
            {
                output.WriteLine(id.ToString(CultureInfo.InvariantCulture));
            }
            else if (ignoreEos || !loaded.Vocab.IsEndOfGeneration(id))
            {
                output.Write(decoder.Push(id));
            }
            output.Flush();
        });
        if (!printIds) output.Write(decoder.Flush());
        output.Flush();

        if (stats.StoppedAtContextEnd) ctx.Stderr.WriteLine($"note: stopped at the end of the context ({loaded.Model.ContextSize} tokens)");
        WriteTimings(ctx.Stderr, loaded.LoadMilliseconds, stats);
        return CliApp.ExitOk;
    }

    private static void WriteLogits(string path, ReadOnlySpan<float> logits)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
            fs.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits));   // x86/ARM are little-endian
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlamaAotException($"cannot write logits to '{path}': {e.Message}", e);
        }
    }

    public static void WriteTimings(TextWriter err, double loadMs, GenerationStats s)
    {
        var ci = CultureInfo.InvariantCulture;
        err.WriteLine();
        err.WriteLine(string.Create(ci, $"llama-aot: load time   = {loadMs,10:F2} ms"));
        err.WriteLine(string.Create(ci, $"llama-aot: prompt eval = {s.PromptMs,10:F2} ms / {s.PromptTokens,5} tokens ({s.PromptTokensPerSecond,9:F2} tokens per second)"));
        err.WriteLine(string.Create(ci, $"llama-aot: generation  = {s.GenerateMs,10:F2} ms / {s.GeneratedTokens,5} tokens ({s.GenerateTokensPerSecond,9:F2} tokens per second)"));
        err.Flush();
    }
}
