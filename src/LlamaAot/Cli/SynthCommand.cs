// `llama-aot synth --shape NAME --type TYPE -o FILE`: a seeded random-weight Llama GGUF for speed work.
using LlamaAot.Kernels.Quants;
using LlamaAot.Tools;

namespace LlamaAot.Cli;

internal static class SynthCommand
{
    public static string Help => $"""
        usage: llama-aot synth --shape NAME --type TYPE -o FILE [--vocab GGUF] [--output-type TYPE] [--seed N]
          --shape         {string.Join(", ", ModelShape.Known.Select(s => s.Name))}
          --type          weight type: {string.Join(", ", SyntheticModel.SupportedTypes)}
          --output-type   type of output.weight (default: Q6_K for Q4_0, else --type — as llama.cpp's quantizer does)
          --vocab         GGUF with the tokenizer (default ../shared/models/vocab-llama-spm.gguf)
          --seed          weight seed (default 1); the same arguments always give the same bytes

        """;

    public static int Run(string[] args, CliContext ctx)
    {
        string? shape = null, output = null, vocab = null;
        GgmlType? type = null, outputType = null;
        ulong seed = 1;
        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "--shape": shape = r.Value(flag); break;
                case "--type": type = ParseType(r.Value(flag)); break;
                case "--output-type": outputType = ParseType(r.Value(flag)); break;
                case "-o" or "--output": output = r.Value(flag); break;
                case "--vocab": vocab = r.Value(flag); break;
                case "--seed": seed = r.ULong(flag); break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                default: throw ArgReader.Unknown(flag, "synth");
            }
        }
        if (shape is null || type is null || output is null) throw new UsageException("synth needs --shape, --type and -o (see synth --help)");
        vocab ??= Path.Combine(AppContext.BaseDirectory, "..", "..", "shared", "models", "vocab-llama-spm.gguf");
        if (!File.Exists(vocab)) vocab = Path.Combine("..", "shared", "models", "vocab-llama-spm.gguf");
        var outType = outputType ?? (type == GgmlType.Q4_0 ? GgmlType.Q6_K : type.Value);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        SyntheticModel.Write(output, ModelShape.Get(shape), type.Value, outType, vocab, seed);
        ctx.Stderr.WriteLine($"wrote {output} ({new FileInfo(output).Length / 1048576.0:F1} MiB) in {sw.Elapsed.TotalSeconds:F1} s");
        return CliApp.ExitOk;
    }

    public static GgmlType ParseType(string s) =>
        Enum.TryParse<GgmlType>(s, ignoreCase: true, out var t) && Enum.IsDefined(t)
            ? t
            : throw new UsageException($"unknown tensor type '{s}'");
}
