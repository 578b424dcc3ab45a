namespace LlamaAot.Cli;

/// <summary>Commands not yet routed by a subcommand name (generation lands here).</summary>
internal static class Commands
{
    public static int RunDefault(string[] args, CliContext ctx)
    {
        var r = new ArgReader(args);
        string? flag = r.NextFlag();
        if (flag is not null) throw ArgReader.Unknown(flag, "llama-aot");
        throw new UsageException($"unknown command '{args[0]}' (see --help)");
    }
}
