// Every numeric tolerance the tests use, in one place, each with the reason for its size.
namespace LlamaAot.Tests;

public static class Tolerances
{
    /// <summary>Logits vs llama.cpp's golden files (issue requirement).</summary>
    public const double GoldenLogitsNmse = 1e-4;
}
