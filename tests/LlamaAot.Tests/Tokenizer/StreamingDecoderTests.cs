// The streaming decoder emits whole characters only: multi-byte text spelled with byte-fallback tokens comes out
// exactly, never as U+FFFD or half a surrogate pair, and bytes of an unfinished character become U+FFFD on Flush.
using System.Text;
using LlamaAot.Tokenizer;
using Xunit;

namespace LlamaAot.Tests.Tokenizer;

public sealed class StreamingDecoderTests
{
    public static TheoryData<string> MultiByteTexts() => new()
    {
        "\U0001F999 llamas \U0001F600!",
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002\u9f98\u7a9f",
        "\U0001F680 (normal) \U0001F636\u200D\U0001F32B\uFE0F (multiple emojis concatenated) \u2705",
        "\u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f",
        "  leading spaces and \U0001F999",
        "\U0001F999",
    };

    [Theory]
    [MemberData(nameof(MultiByteTexts))]
    public void TokenByToken_GivesTheExactText(string text)
    {
        var tok = TokenizerTestData.Llama;
        int[] ids = tok.Encode(text, addBos: false);
        Assert.Contains(ids, id => tok.Vocab.GetTokenType(id) == LlamaTokenType.Byte);
        Assert.Equal(text, Stream(tok, ids, out _));
    }

    [Fact]
    public void EveryGoldenVector_StreamsBackExactly()
    {
        var tok = TokenizerTestData.Llama;
        foreach (var (text, ids) in TokenizerTestData.Vectors)
        {
            Assert.Equal(text, Stream(tok, ids, out _));
        }
    }

    [Fact]
    public void ByteFallbackCharacter_IsHeldUntilComplete()
    {
        var tok = TokenizerTestData.Llama;
        var decoder = new StreamingDecoder(tok, stripLeadingSpace: false);
        // 🦙 = <0xF0> <0x9F> <0xA6> <0x99>
        Assert.Equal("", decoder.Push(243));
        Assert.Equal("", decoder.Push(162));
        Assert.Equal("", decoder.Push(169));
        Assert.Equal(3, decoder.PendingByteCount);
        Assert.Equal("\U0001F999", decoder.Push(156));
        Assert.Equal(0, decoder.PendingByteCount);
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void TruncatedCharacter_BecomesReplacementOnFlush()
    {
        var tok = TokenizerTestData.Llama;
        var decoder = new StreamingDecoder(tok, stripLeadingSpace: true);
        string shown = decoder.Push(15043) + decoder.Push(243) + decoder.Push(162) + decoder.Push(169);
        Assert.Equal("Hello", shown);
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void CharacterBrokenByAnotherToken_IsReplacedAtOnce()
    {
        var tok = TokenizerTestData.Llama;
        var decoder = new StreamingDecoder(tok, stripLeadingSpace: false);
        Assert.Equal("", decoder.Push(243));
        Assert.Equal("\uFFFD Hello", decoder.Push(15043));
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void LeadingSpace_IsStrippedOnlyAtTheStartOfASequence()
    {
        var tok = TokenizerTestData.Llama;
        var start = new StreamingDecoder(tok, stripLeadingSpace: true);
        Assert.Equal("Hello", start.Push(15043));
        Assert.Equal(" Hello", start.Push(15043));

        // Tokens generated after a prompt keep their space, the first one included.
        var continuation = new StreamingDecoder(tok, stripLeadingSpace: false);
        Assert.Equal(" Hello", continuation.Push(15043));

        // A BOS first uses up the strip, as in llama_detokenize.
        var afterBos = new StreamingDecoder(tok, stripLeadingSpace: true);
        Assert.Equal("", afterBos.Push(1));
        Assert.Equal(" Hello", afterBos.Push(15043));
    }

    [Fact]
    public void PushUtf8_ReturnsTheBytesOfCompleteCharacters()
    {
        var tok = TokenizerTestData.Llama;
        var decoder = new StreamingDecoder(tok, stripLeadingSpace: false);
        Assert.True(decoder.PushUtf8(243).IsEmpty);
        Assert.True(decoder.PushUtf8(162).IsEmpty);
        Assert.True(decoder.PushUtf8(169).IsEmpty);
        Assert.Equal("\U0001F999"u8.ToArray(), decoder.PushUtf8(156).ToArray());
    }

    [Fact]
    public void PushUtf8_DoesNotAllocatePerToken()
    {
        var tok = TokenizerTestData.Llama;
        int[] ids = tok.Encode(string.Concat(TokenizerTestData.Vectors.Select(v => v.Text)), addBos: false);
        var decoder = new StreamingDecoder(tok, stripLeadingSpace: false);
        int sink = 0;
        void PushAll()
        {
            foreach (int id in ids) sink += decoder.PushUtf8(id).Length;
        }

        long allocated = Allocations.AfterWarmUp(PushAll, PushAll, minCalls: 1);   // the first pass grows the work buffer once
        Assert.True(sink > 0);
        Assert.Equal(0, allocated);
    }

    private static string Stream(SpmTokenizer tok, int[] ids, out List<string> chunks)
    {
        var decoder = new StreamingDecoder(tok, stripLeadingSpace: true);
        chunks = [];
        var all = new StringBuilder();
        foreach (int id in ids)
        {
            string chunk = decoder.Push(id);
            Assert.DoesNotContain('\uFFFD', chunk);
            Assert.False(TokenizerTestData.HasBrokenSurrogate(chunk), $"chunk '{chunk}' splits a surrogate pair");
            chunks.Add(chunk);
            all.Append(chunk);
        }
        Assert.Equal("", decoder.Flush());
        return all.ToString();
    }
}
