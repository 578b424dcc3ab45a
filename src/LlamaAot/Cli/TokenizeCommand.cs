// `llama-aot tokenize -m MODEL [-p TEXT | -f FILE] [--no-bos]`: token ids of the text, one per line.
using System.Globalization;
using LlamaAot.Gguf;
using LlamaAot.Inference;
using LlamaAot.Tokenizer;

namespace LlamaAot.Cli;

internal static class TokenizeCommand
{
    public const string Help = """
        usage: llama-aot tokenize -m MODEL [-p TEXT | -f FILE] [--no-bos] [--pieces]
        Prints the token ids of the text (stdin when neither -p nor -f is given), one per line.
          --no-bos    do not add the BOS token
          --pieces    print "id<TAB>piece" instead of the id alone

        """;

    public static int Run(string[] args, CliContext ctx)
    {
        string? model = null, prompt = null, file = null;
        bool bos = true, pieces = false;
        var r = new ArgReader(args);
        while (r.NextFlag() is { } flag)
        {
            switch (flag)
            {
                case "-m" or "--model": model = r.Value(flag); break;
                case "-p" or "--prompt": prompt = r.Value(flag); break;
                case "-f" or "--file": file = r.Value(flag); break;
                case "--no-bos": bos = false; break;
                case "--pieces": pieces = true; break;
                case "-h" or "--help": ctx.Stdout.Write(Help); return CliApp.ExitOk;
                default: throw ArgReader.Unknown(flag, "tokenize");
            }
        }
        if (model is null) throw new UsageException("tokenize needs -m MODEL");
        if (r.Positionals.Count > 0) throw new UsageException($"unexpected argument '{r.Positionals[0]}'");
        string text = prompt ?? ReadText(file, ctx);

        using var gguf = GgufFile.Open(model);
        var tokenizer = new SpmTokenizer(LlamaVocab.FromGguf(gguf));
        foreach (int id in tokenizer.Encode(text, bos))
        {
            string line = id.ToString(CultureInfo.InvariantCulture);
            if (pieces) line += "\t" + tokenizer.TokenToPiece(id, special: true);
            ctx.Stdout.WriteLine(line);
        }
        return CliApp.ExitOk;
    }

    private static string ReadText(string? file, CliContext ctx)
    {
        string text = PromptReader.Decode(file is not null ? PromptReader.ReadFile(file) : PromptReader.ReadAll(ctx.StdinStream), out bool replaced);
        if (replaced) ctx.Stderr.WriteLine("warning: the text is not valid UTF-8; invalid bytes were replaced by U+FFFD");
        return text;
    }
}
