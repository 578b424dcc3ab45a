// `llama-aot quantize IN.gguf OUT.gguf TYPE [--pure] [-t N]`: llama-quantize's job for Llama models. The mix
// rules live in Tools/Quantizer.cs; this file only reads the command line and reports.
using LlamaAot.Kernels.Quants;
using LlamaAot.Tools;

namespace LlamaAot.Cli;

internal static class QuantizeCommand
{
    public const string Help = """
        usage: llama-aot quantize IN.gguf OUT.gguf TYPE [--pure] [-t N]
          TYPE        F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M,
                      Q5_K_S, Q5_K_M, Q6_K (Q3_K, Q4_K, Q5_K mean the _M mixes)
                      Tensors get llama.cpp's types for that mix: output.weight Q6_K, more bits for some attn_v
                      and ffn_down layers in the K mixes; norms stay F32. Rows that do not fit a type's blocks
                      fall back to Q4_0/Q5_0/Q5_1/Q8_0, or F16 (a note on stderr names each).
          --pure      every 2-D weight in TYPE, output.weight and token_embd.weight too
          -t N        threads (default: all cores)
        Any input type this runtime can read (F32, F16, BF16, Q4_0 … Q8_0, Q2_K … Q6_K) is converted through fp32.

        """;

    public static int Run(string[] args, CliContext ctx)
    {
        bool pure = false;
        int threads = 0;
        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "--pure": pure = true; break;
                case "-t" or "--threads": threads = r.Int(flag, 1, 1024); break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                default: throw ArgReader.Unknown(flag, "quantize");
            }
        }
        if (r.Positionals.Count != 3)
        {
            throw new UsageException($"quantize needs IN.gguf OUT.gguf TYPE, got {r.Positionals.Count} argument(s) (see quantize --help)");
        }
        string input = r.Positionals[0], output = r.Positionals[1], typeName = r.Positionals[2];
        if (!Quantizer.TryParseTarget(typeName, out var target))
        {
            throw new UsageException($"unknown quantization type '{typeName}' (known: {string.Join(", ", Quantizer.Targets.Select(t => t.Name))})");
        }
        if (!File.Exists(input)) throw new LlamaAotException($"input model '{input}' does not exist");
        if (SamePath(input, output))
        {
            throw new UsageException($"input and output are the same file '{input}': write the quantized model to a new path");
        }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir is not null && !Directory.Exists(dir)) throw new LlamaAotException($"cannot write '{output}': directory '{dir}' does not exist");

        var summary = Quantizer.Run(input, output, target, pure, threads, ctx.Stderr);

        var counts = summary.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => $"{g.Count()} {GgmlTypes.Get(g.Key).Name}");
        ctx.Stderr.WriteLine($"tensor types: {string.Join(", ", counts)}");
        ctx.Stderr.WriteLine(
            $"quantized {input} ({Mib(summary.InputBytes)}) → {output} ({Mib(summary.OutputBytes)}) as {target.Name}{(pure ? " --pure" : "")} " +
            $"in {summary.Elapsed.TotalSeconds:F1} s");
        ctx.Stderr.Flush();
        return CliApp.ExitOk;
    }

    private static string Mib(long bytes) => $"{bytes / 1048576.0:F2} MiB";

    /// <summary>Same file by full path, or (when both exist) by link target, so `a.gguf` and `./a.gguf` collide.</summary>
    private static bool SamePath(string a, string b)
    {
        var cmp = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string fa = Resolve(a), fb = Resolve(b);
        return string.Equals(fa, fb, cmp);

        static string Resolve(string p)
        {
            string full = Path.GetFullPath(p);
            try
            {
                var target = File.Exists(full) ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) : null;
                return target is null ? full : Path.GetFullPath(target.FullName);
            }
            catch (IOException)
            {
                return full;
            }
        }
    }
}
