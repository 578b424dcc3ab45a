// The one exception type the user is meant to see: the CLI turns it into a single `error: …` line and exit code 2.
namespace LlamaAot;

/// <summary>An error caused by the user's input (file, flags, prompt), reported as one line without a stack trace.</summary>
public class LlamaAotException : Exception
{
    public LlamaAotException(string message) : base(message) { }
    public LlamaAotException(string message, Exception inner) : base(message, inner) { }
}
