// Entry point of the llama-aot command: picks the subcommand and turns every user-facing failure into exactly
// one `error: …` line on stderr with exit code 2. Only answers go to stdout; stats and notes go to stderr.
using System.Text;

namespace LlamaAot.Cli;

/// <summary>Streams and switches one invocation works with (in-process tests pass their own).</summary>
public sealed class CliContext(Stream stdin, Stream stdout, TextWriter stderr)
{
    public Stream StdinStream { get; } = stdin;
    public Stream StdoutStream { get; } = stdout;
    public TextWriter Stdout { get; } = new StreamWriter(stdout, new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
    public TextWriter Stderr { get; } = stderr;
    public bool Verbose { get; set; }
}

public static class CliApp
{
    public const int ExitOk = 0;
    public const int ExitUserError = 2;
    public const int ExitInternalError = 1;

    public static string VersionText => $"llama-aot {typeof(CliApp).Assembly.GetName().Version?.ToString(3) ?? "0"}";

    public static int Run(string[] args, Stream stdin, Stream stdout, TextWriter stderr)
    {
        var ctx = new CliContext(stdin, stdout, stderr) { Verbose = Array.Exists(args, a => a == "--verbose") };
        try
        {
            int code = Dispatch(args, ctx);
            ctx.Stdout.Flush();
            return code;
        }
        catch (LlamaAotException e)
        {
            TryFlush(ctx.Stdout);
            Report(ctx, e);
            return ExitUserError;
        }
        catch (Exception e) when (e is IOException && IsBrokenPipe(e))
        {
            return ExitOk;   // the reader went away (e.g. `| head`): not an error of ours
        }
        catch (Exception e)
        {
            TryFlush(ctx.Stdout);
            Report(ctx, e, "internal error: ");
            return ExitInternalError;
        }
    }

    private static void Report(CliContext ctx, Exception e, string prefix = "")
    {
        string message = e.Message.ReplaceLineEndings(" ");
        ctx.Stderr.WriteLine($"error: {prefix}{message}");
        if (ctx.Verbose) ctx.Stderr.WriteLine(e.ToString());
        ctx.Stderr.Flush();
    }

    private static void TryFlush(TextWriter w)
    {
        try { w.Flush(); } catch (IOException) { }
    }

    private static bool IsBrokenPipe(Exception e) => e.Message.Contains("pipe", StringComparison.OrdinalIgnoreCase);

    private static int Dispatch(string[] args, CliContext ctx)
    {
        args = Array.FindAll(args, a => a != "--verbose");
        if (args.Length == 0)
        {
            throw new UsageException("no model given: use `llama-aot -m MODEL` (see --help)");
        }
        switch (args[0])
        {
            case "-h" or "--help" or "help":
                ctx.Stdout.Write(HelpText);
                ctx.Stdout.Write(GenerateCommand.Help);
                return ExitOk;
            case "--version":
                ctx.Stdout.WriteLine($"{VersionText} (kernels {Kernels.Dispatch.KernelTable.Describe(Model.LlamaModel.SelectKernels(null).Isa)})");
                return ExitOk;
            case "info":
                return InfoCommand.Run(args[1..], ctx);
            case "tokenize":
                return TokenizeCommand.Run(args[1..], ctx);
            case "perplexity":
                return PerplexityCommand.Run(args[1..], ctx);
            case "quantize":
                return QuantizeCommand.Run(args[1..], ctx);
            case "bench":
                return BenchCommand.Run(args[1..], ctx);
            case "synth":
                return SynthCommand.Run(args[1..], ctx);
            default:
                return Commands.RunDefault(args, ctx);
        }
    }

    public const string HelpText = """
        usage: llama-aot [command] [options]

        commands:
          (none)       generate: llama-aot -m MODEL [-p TEXT | -f FILE] [options]; the prompt is read from stdin
                       when neither -p nor -f is given
          info         llama-aot info MODEL [--json] [--hash]: GGUF version, metadata, tensor table, sizes
          tokenize     llama-aot tokenize -m MODEL [--no-bos]: token ids of stdin's text
          perplexity   llama-aot perplexity -m MODEL -f FILE -c N: perplexity as llama.cpp computes it
          quantize     llama-aot quantize IN.gguf OUT.gguf TYPE [--pure]: requantize (Q4_K_M, Q8_0, …)
          bench        llama-aot bench -m MODEL [-p 512] [-n 128] [-t 1,2] [-r 5]: llama-bench-style pp/tg t/s
          synth        llama-aot synth --shape tinyllama-1.1b --type Q4_0 -o FILE: seeded random-weight model

        common options:
          -h, --help   show this help
          --version    show the version and the kernel path in use
          --verbose    add a stack trace to error messages

        """;
}
