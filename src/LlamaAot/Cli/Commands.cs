namespace LlamaAot.Cli;

/// <summary>Runs the default command: anything that is not a subcommand name is generation flags.</summary>
internal static class Commands
{
    public static int RunDefault(string[] args, CliContext ctx)
    {
        if (!args[0].StartsWith('-')) throw new UsageException($"unknown command '{args[0]}' (see --help)");
        return GenerateCommand.Run(args, ctx);
    }
}
