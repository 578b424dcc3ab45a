// Rules of llama.cpp's SPM tokenizer checked on their own: control tokens never come from plain text, merge order
// (score, then leftmost pair), the space prefix after user-defined tokens, byte fallback, BOS/EOS, the decode
// leading-space rule, and speed on a few KB of text.
using System.Diagnostics;
using LlamaAot.Tokenizer;
using Xunit;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Tokenizer;

public sealed class SpmBehaviourTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("<s>")]
    [InlineData("</s>")]
    [InlineData("<unk>")]
    [InlineData("<s>Hello</s>")]
    [InlineData(" </s> <s> ")]
    public void ControlTokenText_IsNeverAControlToken(string text)
    {
        foreach (var tok in new[] { TokenizerTestData.Llama, TokenizerTestData.Stories })
        {
            int[] ids = tok.Encode(text, addBos: false);
            Assert.NotEmpty(ids);
            Assert.DoesNotContain(1, ids);
            Assert.DoesNotContain(2, ids);
            Assert.DoesNotContain(0, ids);
            Assert.Equal(text, tok.Decode(ids));

            int[] withBos = tok.Encode(text, addBos: true);
            Assert.Equal(1, withBos[0]);
            Assert.Equal(ids, withBos[1..]);
        }
    }

    [Fact]
    public void EmptyText_IsNoTokens_OrJustBos()
    {
        var tok = TokenizerTestData.Llama;
        Assert.Empty(tok.Encode("", addBos: false));
        Assert.Equal([1], tok.Encode("", addBos: true));
        Assert.Equal("", tok.Decode([]));
    }

    [Fact]
    public void EqualScores_MergeTheLeftmostPairFirst()
    {
        var vocab = TokenizerTestData.SmallVocab([("\u2581", -1), ("a", -2), ("aa", -3)]);
        var tok = new SpmTokenizer(vocab);
        int space = vocab.TextToToken("\u2581"), a = vocab.TextToToken("a"), aa = vocab.TextToToken("aa");
        Assert.Equal([space, aa, a], tok.Encode("aaa", addBos: false));
    }

    [Fact]
    public void HigherScore_MergesFirst()
    {
        var vocab = TokenizerTestData.SmallVocab([("\u2581", -1), ("a", -2), ("b", -3), ("c", -4), ("ab", -6), ("bc", -5)]);
        var tok = new SpmTokenizer(vocab);
        Assert.Equal([vocab.TextToToken("\u2581"), vocab.TextToToken("a"), vocab.TextToToken("bc")], tok.Encode("abc", addBos: false));
    }

    [Fact]
    public void UserDefinedToken_IsCutOutFirst_AndTheNextTextGetsASpacePrefix()
    {
        var vocab = TokenizerTestData.SmallVocab(
            [("\u2581", -1), ("x", -2), ("y", -3), ("\u2581x", -4)],
            [("<|u|>", LlamaTokenType.UserDefined)]);
        var tok = new SpmTokenizer(vocab);
        int u = vocab.TextToToken("<|u|>");
        Assert.Equal([vocab.TextToToken("\u2581x"), u, vocab.TextToToken("\u2581"), vocab.TextToToken("y")], tok.Encode("x<|u|>y", false));
        Assert.Equal([u, u], tok.Encode("<|u|><|u|>", false));
        Assert.Equal("<|u|>", tok.TokenToPiece(u));
    }

    [Fact]
    public void MissingByteTokens_FallBackToUnk()
    {
        var vocab = TokenizerTestData.SmallVocab([("\u2581", -1), ("a", -2)], byteTokens: false);
        var tok = new SpmTokenizer(vocab);
        // "é" is two UTF-8 bytes, each an unknown byte.
        Assert.Equal([vocab.TextToToken("\u2581"), 0, 0, vocab.TextToToken("a")], tok.Encode("\u00e9a", false));
    }

    [Fact]
    public void ByteFallback_UsesUpperCaseHexByteTokens()
    {
        var tok = TokenizerTestData.Llama;
        // U+1F999 (🦙) is not in the LLaMA vocab: F0 9F A6 99 -> <0xF0> <0x9F> <0xA6> <0x99> = 243 162 169 156.
        Assert.Equal([29871, 243, 162, 169, 156], tok.Encode("\U0001F999", false));
        Assert.Equal([0xF0], tok.TokenToPieceBytes(243).ToArray());
    }

    [Fact]
    public void LoneSurrogate_IsEncodedAsReplacementCharacter()
    {
        var tok = TokenizerTestData.Llama;
        Assert.Equal(tok.Encode("a\uFFFDb", false), tok.Encode("a\uD800b", false));
    }

    [Fact]
    public void AddEos_FollowsAddSpecial()
    {
        var vocab = TokenizerTestData.SmallVocab([("\u2581", -1), ("a", -2)], addEos: true);
        var tok = new SpmTokenizer(vocab);
        int space = vocab.TextToToken("\u2581"), a = vocab.TextToToken("a");
        Assert.Equal([1, space, a, 2], tok.Encode("a", addBos: true));
        Assert.Equal([space, a], tok.Encode("a", addBos: false));
    }

    [Fact]
    public void Pieces_FollowTokenToPiece()
    {
        var tok = TokenizerTestData.Llama;
        Assert.Equal(" Hello", tok.TokenToPiece(15043));
        Assert.Equal("", tok.TokenToPiece(1));
        Assert.Equal("", tok.TokenToPiece(2));
        Assert.Equal("", tok.TokenToPiece(0));
        Assert.Equal("<s>", tok.TokenToPiece(1, special: true));
        Assert.Equal("<unk>", tok.TokenToPiece(0, special: true));
        Assert.Equal("\n", tok.TokenToPiece(13));
    }

    [Fact]
    public void Decode_StripsOnlyTheFirstPiecesSpace()
    {
        var tok = TokenizerTestData.Llama;
        Assert.Equal("Hello world", tok.Decode([15043, 3186]));
        Assert.Equal(" Hello world", tok.Decode([29871, 15043, 3186]));
        // llama_detokenize strips only the first token's piece; a leading BOS has an empty piece and uses it up.
        Assert.Equal(" Hello world", tok.Decode([1, 15043, 3186]));
        Assert.Equal(" Hello world", tok.Decode([1, 15043, 3186], removeSpecial: true, unparseSpecial: false));
        Assert.Equal("<s> Hello world", tok.Decode([1, 15043, 3186], removeSpecial: false, unparseSpecial: true));
    }

    [Fact]
    public void FewKilobytePrompt_EncodesInMilliseconds()
    {
        var tok = TokenizerTestData.Llama;
        string text = string.Join(" ", Enumerable.Repeat(string.Join("\n", TokenizerTestData.Vectors.Select(v => v.Text)), 6));
        Assert.True(text.Length > 4000);
        tok.Encode(text, true); // warm up

        var sw = Stopwatch.StartNew();
        const int runs = 20;
        int n = 0;
        for (int i = 0; i < runs; i++) n = tok.Encode(text, true).Length;
        double ms = sw.Elapsed.TotalMilliseconds / runs;
        output.WriteLine($"{text.Length} chars -> {n} tokens in {ms:F2} ms");
        Assert.True(ms < 50, $"encoding {text.Length} chars took {ms:F1} ms");
        Assert.Equal(text, tok.Decode(tok.Encode(text, false)));
    }
}
