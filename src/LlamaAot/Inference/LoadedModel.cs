// A model file opened for inference: the mapping, the forward pass and the tokenizer that belong together.
using System.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Model;
using LlamaAot.Tokenizer;

namespace LlamaAot.Inference;

public sealed class LoadedModel : IDisposable
{
    private LoadedModel(GgufFile file, LlamaModel model, SpmTokenizer tokenizer, double loadMs)
    {
        File = file;
        Model = model;
        Tokenizer = tokenizer;
        LoadMilliseconds = loadMs;
    }

    public GgufFile File { get; }
    public LlamaModel Model { get; }
    public SpmTokenizer Tokenizer { get; }
    public LlamaVocab Vocab => Tokenizer.Vocab;
    public double LoadMilliseconds { get; }

    public static LoadedModel Load(string path, ModelOptions options)
    {
        var sw = Stopwatch.StartNew();
        var file = GgufFile.Open(path);
        try
        {
            var vocab = LlamaVocab.FromGguf(file);
            var model = new LlamaModel(file, options);
            if (vocab.Count != model.Config.VocabSize)
            {
                model.Dispose();
                throw new LlamaAotException($"'{path}': vocabulary has {vocab.Count} tokens but the output has {model.Config.VocabSize} rows");
            }
            return new LoadedModel(file, model, new SpmTokenizer(vocab), sw.Elapsed.TotalMilliseconds);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>One-line description for the stderr banner.</summary>
    public string Banner()
    {
        var c = Model.Config;
        long bytes = 0, n = 0;
        foreach (var t in File.Tensors)
        {
            bytes += t.ByteSize;
            n += t.ElementCount;
        }
        return $"llama-aot: {Path.GetFileName(File.Path)}: {c.Architecture}, {n / 1e6:F2} M params, {bytes / 1048576.0:F1} MiB, " +
               $"{c.BlockCount} layers, ctx {Model.ContextSize} (trained {c.ContextLength}), kv cache {Model.Cache.Type}, " +
               $"kernels {Kernels.Dispatch.KernelTable.Describe(Model.Isa)}";
    }

    public void Dispose()
    {
        Model.Dispose();
        File.Dispose();
    }
}
