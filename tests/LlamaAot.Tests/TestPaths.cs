// Where the shared models and golden data live: ../shared beside the repository root, found by walking up from
// the test assembly so tests run from any working directory.
namespace LlamaAot.Tests;

public static class TestPaths
{
    private static readonly Lazy<string> RepoRootLazy = new(FindRepoRoot);

    public static string RepoRoot => RepoRootLazy.Value;
    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public static string Models => Path.Combine(Shared, "models");
    public static string Golden => Path.Combine(Shared, "golden");

    public static string Model(string fileName) => Path.Combine(Models, fileName);

    public static IEnumerable<string> AllModelFiles() =>
        Directory.EnumerateFiles(Models, "*.gguf").OrderBy(p => p, StringComparer.Ordinal);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlamaAot.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find LlamaAot.sln above " + AppContext.BaseDirectory);
    }
}
