namespace LlamaAot;

internal static class Program
{
    private static int Main(string[] args) => Cli.CliApp.Run(args, Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error);
}
