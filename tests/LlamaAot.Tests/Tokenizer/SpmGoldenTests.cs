// The tokenizer against llama.cpp's own outputs: the llama-spm test vectors (ids and round trip), the prompt ids of
// every golden generation file, and the pieces llama.cpp printed for the generated tokens.
using System.Text.Json;
using LlamaAot.Tokenizer;
using Xunit;

namespace LlamaAot.Tests.Tokenizer;

public sealed class SpmGoldenTests
{
    public static TheoryData<int> VectorIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < TokenizerTestData.Vectors.Count; i++) data.Add(i);
        return data;
    }

    public static TheoryData<string> GoldenJsonFiles()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.EnumerateFiles(TestPaths.Golden, "*.json").OrderBy(f => f, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    [Fact]
    public void Vectors_HaveTheExpectedShape()
    {
        var v = TokenizerTestData.Vectors;
        Assert.Equal(46, v.Count);
        Assert.Equal("ied 4 \u00bd months", v[0].Text);
        Assert.Equal("", v[2].Text);
        Assert.Empty(v[2].Ids);
        Assert.StartsWith("\n \n\n \n\n\n \t \t\t \t\n", v[^1].Text);
    }

    [Theory]
    [MemberData(nameof(VectorIndices))]
    public void Encode_MatchesLlamaCpp(int index)
    {
        var (text, expected) = TokenizerTestData.Vectors[index];
        int[] actual = TokenizerTestData.Llama.Encode(text, addBos: false);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(VectorIndices))]
    public void DecodeOfEncode_GivesTheTextBack(int index)
    {
        string text = TokenizerTestData.Vectors[index].Text;
        var tok = TokenizerTestData.Llama;
        Assert.Equal(text, tok.Decode(tok.Encode(text, addBos: false)));
    }

    [Theory]
    [MemberData(nameof(GoldenJsonFiles))]
    public void PromptIds_MatchGoldenGeneration(string jsonFile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Golden, jsonFile)));
        var root = doc.RootElement;
        var tok = TokenizerTestData.Load(Path.Combine(TestPaths.Shared, root.GetProperty("model_file").GetString()!));
        Assert.True(tok.Vocab.AddBos);
        foreach (var prompt in root.GetProperty("prompts").EnumerateArray())
        {
            string text = prompt.GetProperty("prompt").GetString()!;
            int[] expected = prompt.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, tok.Encode(text, addBos: true));
        }
    }

    [Theory]
    [MemberData(nameof(GoldenJsonFiles))]
    public void GeneratedPieces_MatchGoldenBytes(string jsonFile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Golden, jsonFile)));
        var root = doc.RootElement;
        var tok = TokenizerTestData.Load(Path.Combine(TestPaths.Shared, root.GetProperty("model_file").GetString()!));
        foreach (var prompt in root.GetProperty("prompts").EnumerateArray())
        {
            int[] ids = prompt.GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            string[] hex = prompt.GetProperty("generated_pieces_hex").EnumerateArray().Select(e => e.GetString()!).ToArray();
            bool stopped = prompt.GetProperty("stopped_at_eog").GetBoolean();

            // The end-of-generation token that stopped the run is not among the pieces; its own piece is empty.
            int printed = stopped ? ids.Length - 1 : ids.Length;
            Assert.Equal(printed, hex.Length);
            Assert.Equal(stopped, tok.Vocab.IsEndOfGeneration(ids[^1]));
            if (stopped) Assert.True(tok.TokenToPieceBytes(ids[^1]).IsEmpty);
            for (int i = 0; i < printed; i++)
            {
                Assert.False(tok.Vocab.IsEndOfGeneration(ids[i]));
                Assert.Equal(hex[i], Convert.ToHexStringLower(tok.TokenToPieceBytes(ids[i])));
            }

            // Streamed after a prompt (no leading-space strip), the pieces decode like the joined bytes.
            var decoder = new StreamingDecoder(tok, stripLeadingSpace: false);
            var text = new System.Text.StringBuilder();
            foreach (int id in ids) text.Append(decoder.Push(id));
            text.Append(decoder.Flush());
            byte[] joined = Convert.FromHexString(string.Concat(hex));
            Assert.Equal(System.Text.Encoding.UTF8.GetString(joined), text.ToString());

            // generated_text shows some invalid sequences with one U+FFFD per byte where .NET (like Python) uses one
            // per maximal invalid subpart, so runs of U+FFFD are compared as one.
            Assert.Equal(CollapseReplacements(prompt.GetProperty("generated_text").GetString()!), CollapseReplacements(text.ToString()));
        }
    }

    private static string CollapseReplacements(string s) =>
        System.Text.RegularExpressions.Regex.Replace(s, "\uFFFD+", "\uFFFD");
}
