// Shared inputs for the tokenizer tests: the LLaMA SentencePiece vocab and stories260K's vocab (loaded once), the
// llama.cpp tokenizer vectors in golden/tokenizer/llama-spm.{inp,out}, and small in-memory vocabularies.
using LlamaAot.Gguf;
using LlamaAot.Tokenizer;

namespace LlamaAot.Tests.Tokenizer;

internal static class TokenizerTestData
{
    private static readonly Lazy<SpmTokenizer> LlamaLazy = new(() => Load(TestPaths.Model("vocab-llama-spm.gguf")));
    private static readonly Lazy<SpmTokenizer> StoriesLazy = new(() => Load(TestPaths.Model("stories260K-F32.gguf")));
    private static readonly Lazy<IReadOnlyList<(string Text, int[] Ids)>> VectorsLazy = new(ReadVectors);

    public static SpmTokenizer Llama => LlamaLazy.Value;
    public static SpmTokenizer Stories => StoriesLazy.Value;

    /// <summary>llama-spm.inp / .out: one (text, ids without BOS) pair per test string.</summary>
    public static IReadOnlyList<(string Text, int[] Ids)> Vectors => VectorsLazy.Value;

    public static SpmTokenizer Load(string path)
    {
        using var file = GgufFile.Open(path);
        return new SpmTokenizer(LlamaVocab.FromGguf(file));
    }

    private static IReadOnlyList<(string, int[])> ReadVectors()
    {
        string dir = Path.Combine(TestPaths.Golden, "tokenizer");
        // Every string, the last included, is followed by the separator, so the split leaves one empty tail.
        string[] texts = File.ReadAllText(Path.Combine(dir, "llama-spm.inp")).Split("\n__ggml_vocab_test__\n");
        if (texts[^1].Length != 0) throw new InvalidDataException("llama-spm.inp does not end with a separator");
        texts = texts[..^1];

        string[] lines = File.ReadAllLines(Path.Combine(dir, "llama-spm.out"));
        if (lines.Length != texts.Length)
        {
            throw new InvalidDataException($"llama-spm.inp has {texts.Length} strings but llama-spm.out has {lines.Length} lines");
        }
        var vectors = new List<(string, int[])>(texts.Length);
        for (int i = 0; i < texts.Length; i++)
        {
            int[] ids = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            vectors.Add((texts[i], ids));
        }
        return vectors;
    }

    /// <summary>A vocabulary of the given normal tokens after the usual &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;;
    /// <paramref name="extra"/> adds tokens of other types.</summary>
    public static LlamaVocab SmallVocab(
        (string Text, float Score)[] normal, (string Text, LlamaTokenType Type)[]? extra = null,
        bool byteTokens = true, bool addEos = false)
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var scores = new List<float> { 0, 0, 0 };
        var types = new List<int> { 2, 3, 3 };
        if (byteTokens)
        {
            for (int b = 0; b < 256; b++) { tokens.Add($"<0x{b:X2}>"); scores.Add(0); types.Add(6); }
        }
        foreach (var (text, score) in normal) { tokens.Add(text); scores.Add(score); types.Add(1); }
        foreach (var (text, type) in extra ?? []) { tokens.Add(text); scores.Add(0); types.Add((int)type); }
        return new LlamaVocab([.. tokens], [.. scores], [.. types], addEos: addEos);
    }

    public static bool HasBrokenSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return true;
        }
        return false;
    }
}
