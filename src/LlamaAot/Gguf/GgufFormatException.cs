namespace LlamaAot.Gguf;

/// <summary>A GGUF file that violates the format: names the file, what is wrong and the byte offset where it was found.</summary>
public sealed class GgufFormatException : LlamaAotException
{
    public GgufFormatException(string file, long offset, string problem)
        : base($"invalid GGUF file '{file}': {problem} (at byte offset {offset})")
    {
        File = file;
        Offset = offset;
        Problem = problem;
    }

    public string File { get; }
    public long Offset { get; }
    public string Problem { get; }
}
