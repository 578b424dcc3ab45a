// Reads the prompt text from -p, -f or stdin. Invalid UTF-8 is replaced by U+FFFD with a warning, never a crash.
using System.Text;

namespace LlamaAot.Inference;

public static class PromptReader
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly UTF8Encoding Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Decodes bytes as UTF-8 (a leading BOM is dropped); <paramref name="replaced"/> tells whether any
    /// invalid sequence had to be replaced.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, out bool replaced)
    {
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        try
        {
            replaced = false;
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            replaced = true;
            return Lenient.GetString(bytes);
        }
    }

    public static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    public static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            throw new LlamaAotException($"cannot read prompt file '{path}': {why}", e);
        }
    }
}
